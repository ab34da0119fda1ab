package merchant_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// clock is a settable clock shared by the emulator's codes and tokens and
// the stores.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// bundle is what a test works with.
type bundle struct {
	srv    *alipaytest.Server
	red    *testproc.Redis
	rdb    *redis.Client
	keys   *merchant.Keyring
	client *upload.Client
	clock  *clock
	store  *merchant.Store
	// keyLine is the key file line of keys.
	keyLine string
}

// advance moves both clocks.
func (b *bundle) advance(d time.Duration) {
	b.clock.mu.Lock()
	b.clock.off += d
	b.clock.mu.Unlock()
	b.srv.Advance(d)
}

// newStore is another host's Store on the same Redis and emulator.
func (b *bundle) newStore(t *testing.T, mod func(*merchant.Config)) *merchant.Store {
	t.Helper()
	cfg := merchant.Config{Redis: b.rdb, Keyring: b.keys, Client: b.client, Now: b.clock.now,
		Logger: alipaytest.TestLogger(t)}
	if mod != nil {
		mod(&cfg)
	}
	s, err := merchant.NewStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setup(t *testing.T, proto upload.Protocol, auth alipaytest.AuthConfig) *bundle {
	t.Helper()
	red := testproc.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: red.Addr()})
	t.Cleanup(func() { rdb.Close() })
	srv := alipaytest.Start(t, alipaytest.Config{Auth: auth})
	client, err := upload.New(upload.Config{
		Protocol: proto, GatewayURL: srv.URL, AppID: alipaytest.TestAppID,
		Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: srv.PublicKey(),
		HTTPClient: srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := merchant.GenerateKey()
	keys := keyringOf(t, key)
	b := &bundle{srv: srv, red: red, rdb: rdb, keys: keys, client: client, clock: &clock{}, keyLine: key}
	b.store = b.newStore(t, nil)
	return b
}

func keyringOf(t *testing.T, lines ...string) *merchant.Keyring {
	t.Helper()
	path := t.TempDir() + "/keys"
	writeFile(t, path, "# merchant token keys\n"+strings.Join(lines, "\n")+"\n")
	k, err := merchant.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func protocols(t *testing.T, f func(t *testing.T, proto upload.Protocol)) {
	for _, p := range []upload.Protocol{upload.Classic, upload.V3} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			f(t, p)
		})
	}
}

func issue(t *testing.T, srv *alipaytest.Server, ms ...alipaytest.AuthMerchant) string {
	t.Helper()
	code, err := srv.IssueCode(ms...)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// authorize stores m through an exchange of a code the emulator issues,
// and returns the token the store then gives for m.
func (b *bundle) authorize(t *testing.T, m alipaytest.AuthMerchant) string {
	t.Helper()
	ctx := context.Background()
	if _, err := b.store.Authorize(ctx, issue(t, b.srv, m)); err != nil {
		t.Fatal(err)
	}
	tok, err := b.store.Token(ctx, m.AuthAppID)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// allGetCurrent makes n calls at once and checks that each returned
// shopA's current token at the emulator, whose record it returns.
func (b *bundle) allGetCurrent(t *testing.T, n int, call func(i int) (string, error)) alipaytest.MerchantAuth {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { got[i], errs[i] = call(i) })
	}
	wg.Wait()
	em, _ := b.srv.Merchant(shopA.AuthAppID)
	for i := range n {
		if errs[i] != nil || got[i] != em.Token {
			t.Fatalf("caller %d: %v, got Alipay's current token: %v", i, errs[i], got[i] == em.Token)
		}
	}
	return em
}

var shopA = alipaytest.AuthMerchant{AuthAppID: "2021004100000001", UserID: "2088000000000001"}
var shopB = alipaytest.AuthMerchant{AuthAppID: "2021004100000002", UserID: "2088000000000002"}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{TokenTTL: 30 * 24 * time.Hour})
		ctx := context.Background()
		ms, err := b.store.Authorize(ctx, issue(t, b.srv, shopA))
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].AuthAppID != shopA.AuthAppID || ms[0].UserID != shopA.UserID || ms[0].Status != merchant.StatusActive {
			t.Fatalf("authorized %+v", ms)
		}
		if d := time.Until(ms[0].TokenExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
			t.Errorf("token expires in %s, want 30 days", d)
		}
		tok, err := b.store.Token(ctx, shopA.AuthAppID)
		if err != nil {
			t.Fatal(err)
		}
		em, _ := b.srv.Merchant(shopA.AuthAppID)
		if tok != em.Token {
			t.Errorf("Token gave another token than the one Alipay issued")
		}
		if em.Exchanges != 1 || em.RefreshCalls != 0 {
			t.Errorf("emulator saw %d exchanges and %d refreshes, want 1 and 0", em.Exchanges, em.RefreshCalls)
		}

		// Batch authorization: a tokens list.
		ms, err = b.store.Authorize(ctx, issue(t, b.srv, shopA, shopB))
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].AuthAppID != shopA.AuthAppID || ms[1].AuthAppID != shopB.AuthAppID {
			t.Fatalf("batch authorized %+v", ms)
		}
		list, err := b.store.List(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("List = %+v, %v", list, err)
		}
		for _, m := range []alipaytest.AuthMerchant{shopA, shopB} {
			tok, err := b.store.Token(ctx, m.AuthAppID)
			em, _ := b.srv.Merchant(m.AuthAppID)
			if err != nil || tok != em.Token {
				t.Errorf("%s: token is not the batch's (%v)", m.AuthAppID, err)
			}
		}
	})
}

func TestAuthorizeRefusedCodes(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{})
		ctx := context.Background()
		used := issue(t, b.srv, shopA)
		if _, err := b.store.Authorize(ctx, used); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Remove(ctx, shopA.AuthAppID); err != nil {
			t.Fatal(err)
		}
		expired := issue(t, b.srv, shopB)
		b.advance(24*time.Hour + time.Second)
		for name, code := range map[string]string{"unknown": "1cc19911172e4f8aaa509c8fb5d12f56", "reused": used, "expired": expired, "empty": ""} {
			ms, err := b.store.Authorize(ctx, code)
			if !errors.Is(err, merchant.ErrCode) || ms != nil {
				t.Errorf("%s code: %v, %v; want ErrCode", name, ms, err)
			}
			t.Logf("%s code: %v", name, err)
		}
		if list, err := b.store.List(ctx); err != nil || len(list) != 0 {
			t.Errorf("stored %+v, %v after refused codes", list, err)
		}
		if keys := b.rdb.Keys(ctx, "alipay-media-worker:merchant:"+"*").Val(); len(keys) != 0 {
			t.Errorf("records left: %v", keys)
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.Classic, alipaytest.AuthConfig{})
	ctx := context.Background()
	_, err := b.store.Token(ctx, "2021009999999999")
	if !errors.Is(err, merchant.ErrNotFound) || !strings.Contains(err.Error(), "authorize") {
		t.Errorf("Token of an unknown merchant: %v", err)
	}
	for _, f := range []func() error{
		func() error { _, err := b.store.Get(ctx, "2021009999999999"); return err },
		func() error { _, err := b.store.Renew(ctx, "2021009999999999", "x"); return err },
		func() error { _, err := b.store.Refresh(ctx, "2021009999999999"); return err },
		func() error { return b.store.Remove(ctx, "2021009999999999") },
		func() error { _, err := b.store.Get(ctx, "../etc"); return err },
	} {
		if err := f(); !errors.Is(err, merchant.ErrNotFound) {
			t.Errorf("want ErrNotFound, got %v", err)
		}
	}
}

func TestTokenRefreshesAheadOfExpiry(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{TokenTTL: 10 * time.Hour, OldTokenGrace: -1})
		b.store = b.newStore(t, func(c *merchant.Config) { c.RefreshBefore = time.Hour })
		ctx := context.Background()
		first := b.authorize(t, shopA)
		b.advance(8 * time.Hour) // 2 h left: not yet
		if tok, _ := b.store.Token(ctx, shopA.AuthAppID); tok != first {
			t.Fatal("refreshed 2 h before expiry with RefreshBefore 1 h")
		}
		b.advance(90 * time.Minute) // 30 min left
		tok, err := b.store.Token(ctx, shopA.AuthAppID)
		if err != nil {
			t.Fatal(err)
		}
		em, _ := b.srv.Merchant(shopA.AuthAppID)
		if tok == first || tok != em.Token || em.Refreshes != 1 {
			t.Fatalf("30 min before expiry: refreshed %d times, token is new %v, is Alipay's current %v", em.Refreshes, tok != first, tok == em.Token)
		}
		m, _ := b.store.Get(ctx, shopA.AuthAppID)
		if m.RefreshedAt.IsZero() || m.TokenExpiresAt.Sub(b.clock.now()) < 9*time.Hour {
			t.Errorf("after the refresh: %+v", m)
		}
		st, _ := b.store.Stats(ctx)
		if st.Refreshes[merchant.OutcomeSuccess] != 1 || st.Merchants != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestRenewStaleDoesNotRefresh(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{})
		ctx := context.Background()
		old := b.authorize(t, shopA)
		renewed, err := b.store.Renew(ctx, shopA.AuthAppID, old)
		if err != nil || renewed == old {
			t.Fatalf("Renew of the current token: %v (new token: %v)", err, renewed != old)
		}
		again, err := b.store.Renew(ctx, shopA.AuthAppID, old) // a late 20001 for the old one
		if err != nil || again != renewed {
			t.Fatalf("Renew of a stale token: %v, same as current: %v", err, again == renewed)
		}
		if em, _ := b.srv.Merchant(shopA.AuthAppID); em.RefreshCalls != 1 {
			t.Errorf("%d refresh calls reached the emulator, want 1", em.RefreshCalls)
		}
	})
}

// Many goroutines on two hosts (Stores) get 20001 for the same token at
// once: exactly one refresh reaches Alipay and all get the new token.
func TestRenewConcurrentOneRefresh(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{})
		ctx := context.Background()
		old := b.authorize(t, shopA)
		b.srv.ExpireToken(shopA.AuthAppID)
		b.srv.Faults().SetSlowDelay(200 * time.Millisecond)
		b.srv.Faults().Next(alipaytest.FaultSlow, 1) // the refresh takes a while: the others must wait
		hosts := []*merchant.Store{b.store, b.newStore(t, nil)}
		em := b.allGetCurrent(t, 40, func(i int) (string, error) { return hosts[i%2].Renew(ctx, shopA.AuthAppID, old) })
		if em.RefreshCalls != 1 {
			t.Errorf("%d refresh calls reached the emulator, want exactly 1", em.RefreshCalls)
		}
	})
}

func TestRevokedMarksUnauthorized(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{})
		ctx := context.Background()
		tok := b.authorize(t, shopA)
		b.srv.Revoke(shopA.AuthAppID)
		_, err := b.store.Renew(ctx, shopA.AuthAppID, tok)
		if !errors.Is(err, merchant.ErrUnauthorized) || !strings.Contains(err.Error(), "enqueue merchant authorize") {
			t.Fatalf("Renew after revocation: %v", err)
		}
		t.Log(err)
		m, _ := b.store.Get(ctx, shopA.AuthAppID)
		if m.Status != merchant.StatusReauthorizationRequired || m.Reason == "" || m.MarkedAt.IsZero() {
			t.Errorf("after a refused refresh: %+v", m)
		}
		if _, err := b.store.Token(ctx, shopA.AuthAppID); !errors.Is(err, merchant.ErrUnauthorized) {
			t.Errorf("Token of a marked merchant: %v", err)
		}
		st, _ := b.store.Stats(ctx)
		if st.ReauthorizationRequired != 1 || st.Refreshes[merchant.OutcomeRefused] != 1 {
			t.Errorf("stats %+v", st)
		}
		// Authorizing again brings it back.
		if _, err := b.store.Authorize(ctx, issue(t, b.srv, shopA)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.Token(ctx, shopA.AuthAppID); err != nil {
			t.Errorf("Token after re-authorization: %v", err)
		}
	})
}

// A transient failure of the refresh (503, 20000) never marks the merchant.
func TestTransientRefreshFailureDoesNotMark(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{})
		ctx := context.Background()
		tok := b.authorize(t, shopA)
		for _, kind := range []alipaytest.FaultKind{alipaytest.Fault503, alipaytest.FaultUnavailable} {
			b.srv.Faults().Next(kind, 1)
			_, err := b.store.Renew(ctx, shopA.AuthAppID, tok)
			if err == nil || errors.Is(err, merchant.ErrUnauthorized) || upload.Classify(err) != upload.Retryable {
				t.Errorf("%s during refresh: %v; want a retryable error", kind, err)
			}
			if m, _ := b.store.Get(ctx, shopA.AuthAppID); m.Status != merchant.StatusActive {
				t.Errorf("%s marked the merchant: %+v", kind, m)
			}
		}
		if _, err := b.store.Renew(ctx, shopA.AuthAppID, tok); err != nil {
			t.Errorf("Renew once Alipay is back: %v", err)
		}
		st, _ := b.store.Stats(ctx)
		if st.Refreshes[merchant.OutcomeFailed] != 2 || st.Refreshes[merchant.OutcomeSuccess] != 1 {
			t.Errorf("stats %+v", st.Refreshes)
		}
	})
}

func TestRemove(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.V3, alipaytest.AuthConfig{})
	ctx := context.Background()
	if _, err := b.store.Authorize(ctx, issue(t, b.srv, shopA)); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Remove(ctx, shopA.AuthAppID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Token(ctx, shopA.AuthAppID); !errors.Is(err, merchant.ErrNotFound) {
		t.Errorf("Token after Remove: %v", err)
	}
	if err := b.store.Remove(ctx, shopA.AuthAppID); !errors.Is(err, merchant.ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	if n := b.rdb.DBSize(ctx).Val(); n != 0 {
		t.Errorf("%d keys left after Remove: %v", n, b.rdb.Keys(ctx, "*").Val())
	}
}

// A token an application holds itself is stored sealed too; without a
// refresh token, a refused token means authorize again.
func TestPut(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.Classic, alipaytest.AuthConfig{})
	ctx := context.Background()
	g := merchant.Grant{AuthAppID: shopB.AuthAppID, AppAuthToken: "202601BBownedbytheapplicationE36"}
	if _, err := b.store.Put(ctx, g); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{g.String(), fmt.Sprintf("%#v", g), fmt.Sprintf("%v", g), fmt.Sprintf("%+v", g)} {
		if strings.Contains(s, g.AppAuthToken) {
			t.Errorf("Grant prints its token: %s", s)
		}
	}
	tok, err := b.store.Token(ctx, g.AuthAppID)
	if err != nil || tok != g.AppAuthToken {
		t.Fatalf("Token = %v", err)
	}
	if _, err := b.store.Renew(ctx, g.AuthAppID, tok); !errors.Is(err, merchant.ErrUnauthorized) {
		t.Errorf("Renew without a refresh token: %v", err)
	}
	dumpHasNoSecret(t, b.rdb, g.AppAuthToken)
}

// Refreshes ahead of expiry from two hosts at once: one call reaches
// Alipay. When Alipay is unavailable, the still-valid token is used.
func TestTokenAheadOfExpiryConcurrentAndUnavailable(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{TokenTTL: 10 * time.Hour})
		hours := func(c *merchant.Config) { c.RefreshBefore = time.Hour }
		hosts := []*merchant.Store{b.newStore(t, hours), b.newStore(t, hours)}
		ctx := context.Background()
		if _, err := hosts[0].Authorize(ctx, issue(t, b.srv, shopA)); err != nil {
			t.Fatal(err)
		}
		old, _ := hosts[0].Token(ctx, shopA.AuthAppID)

		b.advance(9*time.Hour + 30*time.Minute)
		b.srv.Faults().Next(alipaytest.Fault503, 1)
		if tok, err := hosts[0].Token(ctx, shopA.AuthAppID); err != nil || tok != old {
			t.Fatalf("refresh ahead of expiry failed: %v (old token given: %v)", err, tok == old)
		}
		em, _ := b.srv.Merchant(shopA.AuthAppID)
		if em.Refreshes != 0 {
			t.Fatalf("%d refreshes", em.Refreshes)
		}

		b.srv.Faults().SetSlowDelay(200 * time.Millisecond)
		b.srv.Faults().Next(alipaytest.FaultSlow, 1)
		em = b.allGetCurrent(t, 20, func(int) (string, error) { return hosts[1].Token(ctx, shopA.AuthAppID) })
		if em.Refreshes != 1 {
			t.Errorf("%d refreshes reached the emulator, want 1", em.Refreshes)
		}
	})
}

// A sealed token moved to another merchant's record, or into the refresh
// token's field, does not open.
func TestSwappedCiphertextsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.Classic, alipaytest.AuthConfig{})
	ctx := context.Background()
	if _, err := b.store.Authorize(ctx, issue(t, b.srv, shopA, shopB)); err != nil {
		t.Fatal(err)
	}
	keyA, keyB := "alipay-media-worker:merchant:"+shopA.AuthAppID, "alipay-media-worker:merchant:"+shopB.AuthAppID
	b.rdb.HSet(ctx, keyB, "app_auth_token", b.rdb.HGet(ctx, keyA, "app_auth_token").Val())
	if _, err := b.store.Token(ctx, shopB.AuthAppID); !errors.Is(err, merchant.ErrKey) {
		t.Errorf("A's token in B's record: %v", err)
	}
	b.rdb.HSet(ctx, keyA, "app_auth_token", b.rdb.HGet(ctx, keyA, "app_refresh_token").Val())
	if _, err := b.store.Token(ctx, shopA.AuthAppID); !errors.Is(err, merchant.ErrKey) {
		t.Errorf("the refresh token in the token's field: %v", err)
	}
}

// Redis down: plain errors (retried by the caller), never a sentinel that
// would archive a job or mark the merchant.
func TestRedisDownIsTransient(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.Classic, alipaytest.AuthConfig{})
	ctx := context.Background()
	tok := b.authorize(t, shopA)
	fast := redis.NewClient(&redis.Options{Addr: b.red.Addr(), MaxRetries: -1}) // no retry backoff
	defer fast.Close()
	s := b.newStore(t, func(c *merchant.Config) { c.Redis = fast })
	b.red.Kill()
	for name, f := range map[string]func() error{
		"Token": func() error { _, err := s.Token(ctx, shopA.AuthAppID); return err },
		"Renew": func() error { _, err := s.Renew(ctx, shopA.AuthAppID, tok); return err },
		"Get":   func() error { _, err := s.Get(ctx, shopA.AuthAppID); return err },
		"List":  func() error { _, err := s.List(ctx); return err },
	} {
		err := f()
		if err == nil || errors.Is(err, merchant.ErrNotFound) || errors.Is(err, merchant.ErrUnauthorized) || errors.Is(err, merchant.ErrKey) {
			t.Errorf("%s with Redis down: %v; want a plain error", name, err)
		}
	}
	if err := b.red.Start(); err != nil {
		t.Fatal(err)
	}
	if em, _ := b.srv.Merchant(shopA.AuthAppID); em.RefreshCalls != 0 {
		t.Errorf("%d refresh calls with Redis down", em.RefreshCalls)
	}
}

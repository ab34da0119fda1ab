package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/upload"
)

// fakeTokens is a Tokens of one merchant, "2021000000000001", whose
// current token is cur; Renew refreshes to the next of fresh, or fails
// with renewErr.
type fakeTokens struct {
	mu       sync.Mutex
	cur      string
	fresh    []string
	tokenErr error
	renewErr error
	tokens   int      // Token calls
	renewed  []string // the stale tokens Renew was given
}

const testMerchant = "2021000000000001"

func (f *fakeTokens) Token(_ context.Context, m string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens++
	if m != testMerchant {
		return "", fmt.Errorf("%w: %s", merchant.ErrNotFound, m)
	}
	if f.tokenErr != nil {
		return "", f.tokenErr
	}
	return f.cur, nil
}

func (f *fakeTokens) Renew(_ context.Context, m, stale string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewed = append(f.renewed, stale)
	if f.renewErr != nil {
		return "", f.renewErr
	}
	if stale == f.cur && len(f.fresh) > 0 {
		f.cur, f.fresh = f.fresh[0], f.fresh[1:]
	}
	return f.cur, nil
}

// gate is an Uploader that refuses, with 20001, every token valid does
// not accept, and passes the rest to the fake.
type gate struct {
	*fakeUploader
	mu      sync.Mutex
	valid   map[string]bool
	refused []string
}

func (g *gate) Upload(ctx context.Context, req upload.Request) (upload.Result, error) {
	g.mu.Lock()
	ok := g.valid[req.AppAuthToken]
	if !ok {
		g.refused = append(g.refused, req.AppAuthToken)
	}
	g.mu.Unlock()
	if !ok {
		return upload.Result{}, fmt.Errorf("post https://gw/gateway.do?app_auth_token=%s: %w", req.AppAuthToken,
			&upload.APIError{Code: "20001", Msg: "Insufficient Token Permissions", SubCode: "aop.app-auth-token-time-out", SubMsg: "令牌已过期"})
	}
	return g.fakeUploader.Upload(ctx, req)
}

// reverseSealer "seals" by reversing and prefixing: enough to see that the
// handler opens what the client sealed.
type reverseSealer struct{}

func (reverseSealer) SealToken(tok string) (string, error) { return "sealed:" + reverse(tok), nil }
func (reverseSealer) OpenToken(s string) (string, error) {
	if !strings.HasPrefix(s, "sealed:") {
		return "", fmt.Errorf("%w: no key opens it", merchant.ErrKey)
	}
	return reverse(strings.TrimPrefix(s, "sealed:")), nil
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func merchantSetup(t *testing.T, ft *fakeTokens, valid ...string) (*bundle, *gate) {
	t.Helper()
	b := setup(t)
	g := &gate{fakeUploader: b.up, valid: map[string]bool{}}
	for _, v := range valid {
		g.valid[v] = true
	}
	b.h.up = g
	if ft != nil {
		b.h.tokens = ft
	}
	return b, g
}

func merchantJob(t *testing.T, b *bundle) UploadPayload {
	p := payloadFor(t, b.sample(t, "photo.jpg"))
	p.Merchant = testMerchant
	return p
}

// noSecrets fails when err or the logs show any of the tokens.
func noSecrets(t *testing.T, b *bundle, err error, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("error shows the token %q: %v", tok, err)
		}
		if strings.Contains(b.logs.String(), tok) {
			t.Errorf("logs show the token %q", tok)
		}
	}
}

func TestMerchantJobUsesCurrentToken(t *testing.T) {
	t.Parallel()
	ft := &fakeTokens{cur: "202612BBcurrentToken01"}
	b, g := merchantSetup(t, ft, ft.cur)
	if err := b.h.ProcessTask(context.Background(), taskOf(t, merchantJob(t, b))); err != nil {
		t.Fatal(err)
	}
	if g.Calls() != 1 || g.calls[0].AppAuthToken != "202612BBcurrentToken01" || len(ft.renewed) != 0 {
		t.Errorf("calls %d, renewals %v", g.Calls(), ft.renewed)
	}
	if !strings.Contains(b.logs.String(), "merchant="+testMerchant) {
		t.Error("the log does not name the merchant")
	}
	noSecrets(t, b, nil, ft.cur)
}

// A token refused with 20001 is renewed and the upload sent again within
// the same attempt: one success, no failed attempt, nothing spent.
func TestMerchantTokenRenewedOnce(t *testing.T) {
	t.Parallel()
	ft := &fakeTokens{cur: "202612BBexpiredToken01", fresh: []string{"202612BBfreshToken0002"}}
	b, g := merchantSetup(t, ft, "202612BBfreshToken0002")
	if err := b.h.ProcessTask(context.Background(), taskOf(t, merchantJob(t, b))); err != nil {
		t.Fatalf("ProcessTask: %v", err)
	}
	if len(ft.renewed) != 1 || ft.renewed[0] != "202612BBexpiredToken01" {
		t.Errorf("Renew given %v, want the refused token once", ft.renewed)
	}
	if g.Calls() != 1 || len(g.refused) != 1 || g.calls[0].AppAuthToken != "202612BBfreshToken0002" {
		t.Errorf("uploads %d, refused %d", g.Calls(), len(g.refused))
	}
	if got := b.obs.String(); !strings.HasPrefix(got, "success ") {
		t.Errorf("observer: %s, want one success", got)
	}
	noSecrets(t, b, nil, "202612BBexpiredToken01", "202612BBfreshToken0002")
}

// A refresh the gateway refuses: the job ends merchant_unauthorized at
// once, saying what to do, without a token in the message.
func TestMerchantUnauthorizedOnRenew(t *testing.T) {
	t.Parallel()
	ft := &fakeTokens{cur: "202612BBrevokedToken01", renewErr: fmt.Errorf("merchant %s: refresh refused: %w", testMerchant, merchant.ErrUnauthorized)}
	b, g := merchantSetup(t, ft)
	err := b.h.ProcessTask(context.Background(), taskOf(t, merchantJob(t, b)))
	if !errors.Is(err, asynq.SkipRetry) || !errors.Is(err, merchant.ErrUnauthorized) {
		t.Fatalf("err = %v, want SkipRetry and merchant.ErrUnauthorized", err)
	}
	for _, want := range []string{"merchant_unauthorized: merchant " + testMerchant, "enqueue merchant authorize --code CODE --requeue"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to say %q", err, want)
		}
	}
	if got := b.obs.String(); got != "rejected merchant_unauthorized 0" {
		t.Errorf("observer: %s", got)
	}
	if g.Calls() != 0 || len(g.refused) != 1 {
		t.Errorf("uploads %d, refused %d: want only the one in flight", g.Calls(), len(g.refused))
	}
	noSecrets(t, b, err, ft.cur)
}

// The gateway refuses the renewed token too: retried (the next attempt
// reads the token again), not archived as the gateway's 20001.
func TestMerchantRefusedTwiceRetries(t *testing.T) {
	t.Parallel()
	ft := &fakeTokens{cur: "202612BBfirstToken0001", fresh: []string{"202612BBsecondToken002"}}
	b, g := merchantSetup(t, ft)
	err := b.h.ProcessTask(context.Background(), taskOf(t, merchantJob(t, b)))
	if err == nil || errors.Is(err, asynq.SkipRetry) || !IsFailure(err) {
		t.Fatalf("err = %v, want a retried failure", err)
	}
	if len(g.refused) != 2 || len(ft.renewed) != 1 {
		t.Errorf("refused %d, renewals %d; want 2 and 1", len(g.refused), len(ft.renewed))
	}
	if got := b.obs.String(); got != "retry merchant_token 0" {
		t.Errorf("observer: %s", got)
	}
	noSecrets(t, b, err, "202612BBfirstToken0001", "202612BBsecondToken002")
}

func TestMerchantTokenFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		merchant  string
		tokens    *fakeTokens // nil: a worker without a key file
		permanent bool
		reason    Reason
		text      string
	}{
		{"unauthorized", testMerchant, &fakeTokens{tokenErr: merchant.ErrUnauthorized}, true, ReasonMerchantUnauthorized, "--requeue"},
		{"unknown merchant", "2021000000000999", &fakeTokens{}, true, ReasonMerchantNotFound, "is not authorized here"},
		{"wrong key file", testMerchant, &fakeTokens{tokenErr: fmt.Errorf("%w: key 1a2b", merchant.ErrKey)}, true, ReasonMerchantKey, "MERCHANT_KEY_FILE"},
		{"no key file", testMerchant, nil, true, ReasonMerchantNotConfigured, "set MERCHANT_KEY_FILE"},
		{"redis away", testMerchant, &fakeTokens{tokenErr: errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")}, false, reasonMerchantToken, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, g := merchantSetup(t, tt.tokens)
			p := merchantJob(t, b)
			p.Merchant = tt.merchant
			err := b.h.ProcessTask(context.Background(), taskOf(t, p))
			if err == nil || errors.Is(err, asynq.SkipRetry) != tt.permanent {
				t.Fatalf("err = %v, want permanent %v", err, tt.permanent)
			}
			if !strings.Contains(err.Error(), tt.text) || (tt.permanent && !strings.HasPrefix(err.Error(), string(tt.reason)+": ")) {
				t.Errorf("err = %q, want %q first and %q in it", err, tt.reason, tt.text)
			}
			if !strings.Contains(b.obs.String(), " "+string(tt.reason)+" ") {
				t.Errorf("observer: %s, want reason %s", b.obs.String(), tt.reason)
			}
			if tt.reason.Bounded() != tt.reason {
				t.Errorf("%s is not one of KnownReasons", tt.reason)
			}
			if g.Calls()+len(g.refused) != 0 {
				t.Error("the gateway was called")
			}
		})
	}
}

func TestSealedTokenJob(t *testing.T) {
	t.Parallel()
	const tok = "202612BBappHeldToken01"
	sealed, _ := reverseSealer{}.SealToken(tok)
	for _, tt := range []struct {
		name   string
		sealer Sealer
		sealed string
		reason Reason
	}{
		{"opened", reverseSealer{}, sealed, ""},
		{"no key file", nil, sealed, ReasonMerchantNotConfigured},
		{"wrong key", reverseSealer{}, "other:" + sealed, ReasonMerchantKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, g := merchantSetup(t, nil, tok)
			b.h.sealer = tt.sealer
			p := payloadFor(t, b.sample(t, "photo.jpg"))
			p.SealedToken, p.TokenDigest = tt.sealed, TokenDigest(tok)
			err := b.h.ProcessTask(context.Background(), taskOf(t, p))
			if tt.reason == "" {
				if err != nil || g.Calls() != 1 || g.calls[0].AppAuthToken != tok {
					t.Fatalf("err %v, calls %d", err, g.Calls())
				}
				return
			}
			if !errors.Is(err, asynq.SkipRetry) || !strings.HasPrefix(err.Error(), string(tt.reason)+": ") || g.Calls() != 0 {
				t.Fatalf("err = %v, want %s", err, tt.reason)
			}
			noSecrets(t, b, err, tok)
		})
	}
}

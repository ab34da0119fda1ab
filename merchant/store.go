package merchant

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
	"github.com/storemedia/alipay-media-worker/upload"
)

// Defaults of the [Config] fields.
const (
	// DefaultRefreshBefore is how long before its expiry a token is
	// refreshed ahead of use. It is capped at half the token's lifetime,
	// so a short-lived token is not refreshed at every use.
	DefaultRefreshBefore = 24 * time.Hour
	// defaultLockTTL is how long a host may hold a merchant's refresh
	// lock; it also bounds how long the others wait for its refresh.
	defaultLockTTL = 90 * time.Second
)

// Redis keys. Every key starts with "alipay-media-worker:", as the rest of
// the module's own keys do.
const (
	// keyPrefix + auth_app_id is a merchant's record: a hash holding the
	// Merchant as JSON, its sealed token and refresh token, and a
	// generation that changes at every write.
	keyPrefix = "alipay-media-worker:merchant:"
	// lockPrefix + auth_app_id is the merchant's refresh lock.
	lockPrefix = "alipay-media-worker:merchant-lock:"
	// indexKey is the set of stored auth_app_ids.
	indexKey = "alipay-media-worker:merchants"
)

// The outcomes of refreshes counted in [Stats].Refreshes.
const (
	OutcomeSuccess = "success" // Alipay gave a new token
	OutcomeRefused = "refused" // Alipay refused: the merchant must authorize again
	OutcomeFailed  = "failed"  // transient or unexplained failure: nothing marked, retried later
)

// RefreshOutcomes lists the outcomes, for metric labels.
var RefreshOutcomes = []string{OutcomeSuccess, OutcomeRefused, OutcomeFailed}

// Config configures a [Store]. Zero values take the documented defaults.
type Config struct {
	// Redis holds the records. Required.
	Redis redis.UniversalClient
	// Keyring seals and opens the tokens. Required.
	Keyring *Keyring
	// Client calls Alipay to exchange codes and refresh tokens, in its
	// protocol (classic or v3). Nil: a store that reads and removes
	// records but cannot authorize or refresh.
	Client *upload.Client
	// RefreshBefore is how long before its expiry [Store.Token] refreshes
	// a token (capped at half the token's lifetime). Default
	// [DefaultRefreshBefore]; negative: never ahead of expiry, only after
	// Alipay refused the token ([Store.Renew]).
	RefreshBefore time.Duration
	// LockTTL is how long a refresh may hold the merchant's fleet-wide
	// lock, and how long another caller waits for it. Default
	// 90s.
	LockTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger gets a line per authorization, refresh and refusal (never a
	// token). Default: discard.
	Logger *slog.Logger
}

// Store keeps merchants' authorizations in Redis. It is safe for
// concurrent use, and several Stores on several hosts may share one Redis:
// a merchant's token is refreshed by one of them at a time.
type Store struct {
	rdb           redis.UniversalClient
	keys          *Keyring
	client        *upload.Client
	refreshBefore time.Duration
	lockTTL       time.Duration
	now           func() time.Time
	log           *slog.Logger

	refreshes [3]atomic.Int64 // by index in RefreshOutcomes

	// aheadFailed holds, by auth_app_id, when a refresh ahead of expiry
	// last failed transiently: Token does not try again before
	// aheadRetryAfter, so an unavailable Alipay is not asked once per
	// upload while the token still works.
	aheadFailed sync.Map
}

// aheadRetryAfter is how long Token waits before trying again a refresh
// ahead of expiry that failed transiently.
const aheadRetryAfter = 30 * time.Second

// NewStore validates cfg and returns a Store. It does not touch Redis.
func NewStore(cfg Config) (*Store, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("merchant: Config.Redis is required")
	case cfg.Keyring == nil:
		return nil, errors.New("merchant: Config.Keyring is required (LoadKeyring reads a key file)")
	case cfg.LockTTL < 0:
		return nil, errors.New("merchant: Config.LockTTL is negative")
	}
	s := &Store{
		rdb:           cfg.Redis,
		keys:          cfg.Keyring,
		client:        cfg.Client,
		refreshBefore: cmp.Or(cfg.RefreshBefore, DefaultRefreshBefore),
		lockTTL:       cmp.Or(cfg.LockTTL, defaultLockTTL),
		now:           cfg.Now,
		log:           cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

var tokenApp = upload.JSONCall[tokenRequest, tokenAnswer]{
	Method: alipayapi.AuthTokenMethod,
	Path:   alipayapi.AuthTokenPath,
}

// Fields of a record's hash, which also bind sealed values to their place.
const (
	fieldGen      = "gen"
	fieldMerchant = "merchant"
	fieldToken    = "app_auth_token"
	fieldRefresh  = "app_refresh_token"
)

// record is a merchant's stored state: its sealed secrets and their
// generation.
type record struct {
	gen              string
	m                Merchant
	token, refreshed string // sealed
}

func sealAD(id, field string) []byte {
	return []byte("alipay-media-worker/merchant/v1\x00" + id + "\x00" + field)
}

// checkID refuses what cannot be an auth_app_id.
func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: %q is not an auth_app_id", ErrNotFound, id)
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: %q is not an auth_app_id", ErrNotFound, id)
		}
	}
	return nil
}

func notFound(id string) error {
	return fmt.Errorf("%w: %s (authorize it first: `enqueue merchant authorize --code CODE`)", ErrNotFound, id)
}

func unauthorized(m Merchant) error {
	return fmt.Errorf("%w: merchant %s must authorize the app again (%s, since %s): have it authorize the app, then run `enqueue merchant authorize --code CODE` with the new app_auth_code",
		ErrUnauthorized, m.AuthAppID, cmp.Or(m.Reason, "refresh refused"), m.MarkedAt.UTC().Format(time.RFC3339))
}

func newGen() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// load reads a merchant's record.
func (s *Store) load(ctx context.Context, id string) (record, error) {
	if err := checkID(id); err != nil {
		return record{}, err
	}
	vals, err := s.rdb.HMGet(ctx, keyPrefix+id, recordFields...).Result()
	if err != nil {
		return record{}, fmt.Errorf("merchant %s: reading Redis: %w", id, err)
	}
	return parseRecord(id, vals)
}

// recordFields are the fields load reads, in the order parseRecord takes.
var recordFields = []string{fieldGen, fieldMerchant, fieldToken, fieldRefresh}

// parseRecord makes a record of the values of recordFields.
func parseRecord(id string, vals []any) (record, error) {
	str := func(v any) string { x, _ := v.(string); return x }
	r := record{gen: str(vals[0]), token: str(vals[2]), refreshed: str(vals[3])}
	if r.gen == "" {
		return record{}, notFound(id)
	}
	if err := json.Unmarshal([]byte(str(vals[1])), &r.m); err != nil {
		return record{}, fmt.Errorf("merchant %s: damaged record in Redis: %w", id, err)
	}
	return r, nil
}

// writeScript writes a record if its generation is still ARGV[1] (or
// unconditionally when ARGV[1] is empty) and reports whether it wrote.
var writeScript = redis.NewScript(`
if ARGV[1] ~= "" and redis.call("HGET", KEYS[1], "gen") ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "gen", ARGV[2], "merchant", ARGV[3], "app_auth_token", ARGV[4], "app_refresh_token", ARGV[5])
return 1`)

// write stores r (a new generation) if the stored one is still ifGen ("":
// whatever is stored), and adds the merchant to the index.
func (s *Store) write(ctx context.Context, r record, ifGen string) (bool, error) {
	id := r.m.AuthAppID
	js, err := json.Marshal(r.m)
	if err != nil {
		return false, fmt.Errorf("merchant %s: %w", id, err)
	}
	n, err := writeScript.Run(ctx, s.rdb, []string{keyPrefix + id}, ifGen, newGen(), js, r.token, r.refreshed).Int()
	if err != nil {
		return false, fmt.Errorf("merchant %s: writing Redis: %w", id, err)
	}
	if n == 0 {
		return false, nil
	}
	if err := s.rdb.SAdd(ctx, indexKey, id).Err(); err != nil {
		return true, fmt.Errorf("merchant %s: writing Redis: %w", id, err)
	}
	return true, nil
}

// sealGrant returns the record of a new grant for m.
func (s *Store) sealGrant(m Merchant, g Grant) (record, error) {
	tok, err := s.keys.Seal([]byte(g.AppAuthToken), sealAD(m.AuthAppID, fieldToken))
	if err != nil {
		return record{}, err
	}
	r := record{m: m, token: tok}
	if g.AppRefreshToken != "" {
		if r.refreshed, err = s.keys.Seal([]byte(g.AppRefreshToken), sealAD(m.AuthAppID, fieldRefresh)); err != nil {
			return record{}, err
		}
	}
	return r, nil
}

func expiry(now time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(d)
}

// Put stores a merchant's tokens, sealed, as a new authorization with
// status active: what [Store.Authorize] does with each merchant Alipay
// answers for, and what an application that holds a token itself uses. A
// grant without a refresh token cannot be refreshed: when Alipay refuses
// its token, the merchant must authorize again.
func (s *Store) Put(ctx context.Context, g Grant) (Merchant, error) {
	if err := checkID(g.AuthAppID); err != nil {
		return Merchant{}, err
	}
	if g.AppAuthToken == "" {
		return Merchant{}, fmt.Errorf("merchant %s: no app_auth_token to store", g.AuthAppID)
	}
	now := s.now()
	m := Merchant{AuthAppID: g.AuthAppID, UserID: g.UserID, Status: StatusActive, AuthorizedAt: now,
		TokenExpiresAt: expiry(now, g.ExpiresIn), RefreshExpiresAt: expiry(now, g.ReExpiresIn)}
	r, err := s.sealGrant(m, g)
	if err != nil {
		return Merchant{}, err
	}
	if _, err := s.write(ctx, r, ""); err != nil {
		return Merchant{}, err
	}
	return m, nil
}

// Authorize exchanges a merchant's app_auth_code for its tokens (over the
// Client's protocol) and stores each merchant of the answer (a batch
// authorization gives several) as active, replacing an earlier
// authorization. A code Alipay refuses (unknown, used or expired) gives an
// error matching [ErrCode], and nothing is stored.
func (s *Store) Authorize(ctx context.Context, code string) ([]Merchant, error) {
	if code == "" {
		return nil, fmt.Errorf("%w: no app_auth_code given", ErrCode)
	}
	if s.client == nil {
		return nil, errors.New("merchant: cannot authorize: the store has no upload client (Config.Client)")
	}
	ans, err := tokenApp.Do(ctx, s.client, "", tokenRequest{GrantType: alipayapi.GrantAuthorizationCode, Code: code})
	if err != nil {
		if codeRefused(err) {
			return nil, fmt.Errorf("%w: %v: have the merchant authorize the app again for a new code (a code works once, for 24 hours)", ErrCode, err)
		}
		return nil, fmt.Errorf("merchant: exchanging the app_auth_code: %w", err)
	}
	grants := ans.grants("")
	if len(grants) == 0 {
		return nil, fmt.Errorf("merchant: exchanging the app_auth_code: %w: the answer holds no app_auth_token", upload.ErrBadResponse)
	}
	var out []Merchant
	for _, g := range grants {
		m, err := s.Put(ctx, g)
		if err != nil {
			return out, err
		}
		s.log.InfoContext(ctx, "merchant authorized", "auth_app_id", m.AuthAppID, "user_id", m.UserID,
			"token_expires_at", m.TokenExpiresAt)
		out = append(out, m)
	}
	return out, nil
}

// Get returns a stored merchant, or an error matching [ErrNotFound].
func (s *Store) Get(ctx context.Context, authAppID string) (Merchant, error) {
	r, err := s.load(ctx, authAppID)
	return r.m, err
}

// List returns every stored merchant, sorted by auth_app_id.
func (s *Store) List(ctx context.Context) ([]Merchant, error) {
	ids, err := s.rdb.SMembers(ctx, indexKey).Result()
	if err != nil {
		return nil, fmt.Errorf("merchant: reading Redis: %w", err)
	}
	slices.Sort(ids)
	ids = slices.DeleteFunc(ids, func(id string) bool { return checkID(id) != nil })
	// One round trip for all the records: Stats calls List at every
	// metrics scrape.
	cmds := make([]*redis.SliceCmd, len(ids))
	if len(ids) > 0 {
		pipe := s.rdb.Pipeline()
		for i, id := range ids {
			cmds[i] = pipe.HMGet(ctx, keyPrefix+id, recordFields...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("merchant: reading Redis: %w", err)
		}
	}
	out := make([]Merchant, 0, len(ids))
	for i, id := range ids {
		r, err := parseRecord(id, cmds[i].Val())
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r.m)
	}
	return out, nil
}

// Remove forgets a merchant and its tokens. An unknown merchant gives an
// error matching [ErrNotFound].
func (s *Store) Remove(ctx context.Context, authAppID string) error {
	if err := checkID(authAppID); err != nil {
		return err
	}
	n, err := s.rdb.Del(ctx, keyPrefix+authAppID).Result()
	if err != nil {
		return fmt.Errorf("merchant %s: writing Redis: %w", authAppID, err)
	}
	if err := s.rdb.SRem(ctx, indexKey, authAppID).Err(); err != nil {
		return fmt.Errorf("merchant %s: writing Redis: %w", authAppID, err)
	}
	if n == 0 {
		return notFound(authAppID)
	}
	s.log.InfoContext(ctx, "merchant removed", "auth_app_id", authAppID)
	return nil
}

// open returns the plaintext of a record's sealed field.
func (s *Store) open(id, field, sealed string) (string, error) {
	b, err := s.keys.Open(sealed, sealAD(id, field))
	if err != nil {
		return "", fmt.Errorf("merchant %s: %s: %w", id, field, err)
	}
	return string(b), nil
}

// due reports whether m's token should be refreshed ahead of expiry.
func (s *Store) due(m Merchant, now time.Time) bool {
	if s.refreshBefore < 0 || m.TokenExpiresAt.IsZero() {
		return false
	}
	window := s.refreshBefore
	from := m.AuthorizedAt
	if m.RefreshedAt.After(from) {
		from = m.RefreshedAt
	}
	if life := m.TokenExpiresAt.Sub(from); life > 0 && window > life/2 {
		window = life / 2
	}
	return !now.Before(m.TokenExpiresAt.Add(-window))
}

// Token returns the merchant's current app_auth_token for an upload,
// refreshing it first when it expires within Config.RefreshBefore. A
// merchant that must authorize again gives an error matching
// [ErrUnauthorized], an unknown one [ErrNotFound]. When a refresh ahead
// of expiry fails transiently, the token still valid is returned.
func (s *Store) Token(ctx context.Context, authAppID string) (string, error) {
	r, tok, err := s.current(ctx, authAppID)
	if err != nil {
		return "", err
	}
	now := s.now()
	if !s.due(r.m, now) || r.refreshed == "" || s.client == nil {
		return tok, nil
	}
	valid := now.Before(r.m.TokenExpiresAt)
	if at, ok := s.aheadFailed.Load(authAppID); ok && valid && time.Since(at.(time.Time)) < aheadRetryAfter {
		return tok, nil
	}
	fresh, _, err := s.refresh(ctx, authAppID, func(cur record) bool { return cur.gen == r.gen })
	switch {
	case err == nil:
		s.aheadFailed.Delete(authAppID)
		return fresh, nil
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrKey), errors.Is(err, ErrNotFound):
		return "", err
	case valid:
		s.aheadFailed.Store(authAppID, time.Now())
		s.log.WarnContext(ctx, "merchant token refresh ahead of expiry failed; using the current token",
			"auth_app_id", authAppID, "token_expires_at", r.m.TokenExpiresAt, "retry_after", aheadRetryAfter, "err", err)
		return tok, nil
	}
	return "", err
}

// current loads a merchant's record and opens its token, refusing a
// merchant that must authorize again: what Token and Renew start from.
func (s *Store) current(ctx context.Context, authAppID string) (record, string, error) {
	r, err := s.load(ctx, authAppID)
	if err != nil {
		return record{}, "", err
	}
	if r.m.Status == StatusReauthorizationRequired {
		return record{}, "", unauthorized(r.m)
	}
	tok, err := s.open(authAppID, fieldToken, r.token)
	if err != nil {
		return record{}, "", err
	}
	return r, tok, nil
}

// Renew is called after Alipay refused stale, the token an upload carried
// (20001, see upload.ErrAppAuthToken). When stale is no longer the
// merchant's current token (another upload renewed it), the current one
// is returned without calling Alipay. Otherwise the token is refreshed,
// by one caller across the fleet while the others wait and read the new
// token. When Alipay refuses the refresh (refresh token expired or
// replaced, authorization cancelled), the merchant is marked
// [StatusReauthorizationRequired] and the error matches [ErrUnauthorized].
// Transient failures (Redis, network, Alipay unavailable) are plain
// errors: retry later.
func (s *Store) Renew(ctx context.Context, authAppID, stale string) (string, error) {
	_, cur, err := s.current(ctx, authAppID)
	if err != nil {
		return "", err
	}
	if !same(cur, stale) {
		return cur, nil
	}
	tok, _, err := s.refresh(ctx, authAppID, func(rec record) bool {
		t, err := s.open(authAppID, fieldToken, rec.token)
		return err != nil || same(t, stale)
	})
	return tok, err
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Refresh refreshes the merchant's token now, under its fleet-wide lock,
// and returns the merchant. Errors are those of [Store.Renew].
func (s *Store) Refresh(ctx context.Context, authAppID string) (Merchant, error) {
	r, err := s.load(ctx, authAppID)
	if err != nil {
		return Merchant{}, err
	}
	if r.m.Status == StatusReauthorizationRequired {
		return r.m, unauthorized(r.m)
	}
	_, m, err := s.refresh(ctx, authAppID, func(cur record) bool { return cur.gen == r.gen })
	return m, err
}

// unlockScript deletes the lock only if it still holds our value.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// reread loads a merchant's record again during a refresh. done reports
// that the refresh must not happen: the record could not be read (err),
// the merchant must authorize again (err matches [ErrUnauthorized]), or
// needed says another caller already refreshed it (tok is its token).
func (s *Store) reread(ctx context.Context, id string, needed func(record) bool) (r record, tok string, done bool, err error) {
	r, err = s.load(ctx, id)
	switch {
	case err != nil:
		return record{}, "", true, err
	case r.m.Status == StatusReauthorizationRequired:
		return r, "", true, unauthorized(r.m)
	case !needed(r):
		tok, err = s.open(id, fieldToken, r.token)
		return r, tok, true, err
	}
	return r, "", false, nil
}

// refresh refreshes the merchant's token under its lock, if needed(the
// record then stored) still says so, and returns the current token and
// merchant. While another caller holds the lock it polls the record until
// that caller is done (needed turns false, or the lock is free to take).
func (s *Store) refresh(ctx context.Context, id string, needed func(record) bool) (string, Merchant, error) {
	if s.client == nil {
		return "", Merchant{}, fmt.Errorf("merchant %s: cannot refresh: the store has no upload client (Config.Client)", id)
	}
	lockKey := lockPrefix + id
	value := newGen()
	// A lock whose holder died expires after lockTTL: wait a little longer.
	deadline := time.Now().Add(s.lockTTL + time.Second)
	pause := 20 * time.Millisecond
	for {
		ok, err := s.rdb.SetNX(ctx, lockKey, value, s.lockTTL).Result()
		if err != nil {
			return "", Merchant{}, fmt.Errorf("merchant %s: taking the refresh lock: %w", id, err)
		}
		if ok {
			defer func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := unlockScript.Run(uctx, s.rdb, []string{lockKey}, value).Err(); err != nil {
					s.log.WarnContext(ctx, "merchant refresh lock not released; it expires by itself",
						"auth_app_id", id, "lock_ttl", s.lockTTL, "err", err)
				}
			}()
			r, tok, done, err := s.reread(ctx, id, needed)
			if done {
				return tok, r.m, err
			}
			return s.refreshNow(ctx, r)
		}
		// Another caller refreshes: wait for it, then read its result.
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", Merchant{}, fmt.Errorf("merchant %s: waiting for another refresh: %w", id, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 250*time.Millisecond)
		r, tok, done, err := s.reread(ctx, id, needed)
		if done {
			return tok, r.m, err
		}
		if time.Now().After(deadline) {
			return "", Merchant{}, fmt.Errorf("merchant %s: another host's refresh did not finish within %s", id, s.lockTTL)
		}
	}
}

// refreshNow calls Alipay with r's refresh token and stores the answer;
// the caller holds the lock.
func (s *Store) refreshNow(ctx context.Context, r record) (string, Merchant, error) {
	id := r.m.AuthAppID
	if r.refreshed == "" {
		m, err := s.mark(ctx, r, "no refresh token: the token was stored without one")
		return "", m, err
	}
	rt, err := s.open(id, fieldRefresh, r.refreshed)
	if err != nil {
		return "", r.m, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.lockTTL*3/4)
	defer cancel()
	ans, err := tokenApp.Do(cctx, s.client, "", tokenRequest{GrantType: alipayapi.GrantRefreshToken, RefreshToken: rt})
	if err != nil {
		if refreshRefused(err) {
			s.count(OutcomeRefused)
			m, merr := s.mark(ctx, r, "refresh refused: "+err.Error())
			return "", m, merr
		}
		s.count(OutcomeFailed)
		s.log.WarnContext(ctx, "merchant token refresh failed", "auth_app_id", id, "err", err)
		return "", r.m, fmt.Errorf("merchant %s: refreshing the token: %w", id, err)
	}
	var g *Grant
	for _, x := range ans.grants(id) {
		if x.AuthAppID == id {
			g = &x
			break
		}
	}
	if g == nil {
		s.count(OutcomeFailed)
		return "", r.m, fmt.Errorf("merchant %s: refreshing the token: %w: the answer holds no app_auth_token for it", id, upload.ErrBadResponse)
	}
	now := s.now()
	m := r.m
	m.RefreshedAt = now
	m.TokenExpiresAt = expiry(now, g.ExpiresIn)
	if g.AppRefreshToken == "" {
		g.AppRefreshToken = rt // Alipay kept the refresh token
	} else {
		m.RefreshExpiresAt = expiry(now, g.ReExpiresIn)
	}
	nr, err := s.sealGrant(m, *g)
	if err != nil {
		s.count(OutcomeFailed)
		return "", r.m, err
	}
	wrote, err := s.write(ctx, nr, r.gen)
	if err != nil {
		s.count(OutcomeFailed)
		return "", r.m, err
	}
	if !wrote {
		// Authorized anew (or removed) while we refreshed: that wins.
		s.count(OutcomeFailed)
		cur, err := s.load(ctx, id)
		if err != nil {
			return "", Merchant{}, err
		}
		tok, err := s.open(id, fieldToken, cur.token)
		return tok, cur.m, err
	}
	s.count(OutcomeSuccess)
	s.log.InfoContext(ctx, "merchant token refreshed", "auth_app_id", id, "token_expires_at", m.TokenExpiresAt)
	return g.AppAuthToken, m, nil
}

// mark records that the merchant must authorize again, drops its tokens,
// and returns an error matching ErrUnauthorized (or a plain error if Redis
// failed, so the refusal is seen again on the next try).
func (s *Store) mark(ctx context.Context, r record, reason string) (Merchant, error) {
	m := r.m
	m.Status = StatusReauthorizationRequired
	m.Reason = reason
	m.MarkedAt = s.now()
	wrote, err := s.write(ctx, record{m: m}, r.gen)
	if err != nil {
		return r.m, err
	}
	if !wrote {
		cur, err := s.load(ctx, m.AuthAppID)
		if err != nil {
			return Merchant{}, err
		}
		if cur.m.Status == StatusReauthorizationRequired {
			return cur.m, unauthorized(cur.m)
		}
		return cur.m, fmt.Errorf("merchant %s: authorized anew during a refused refresh: try again", m.AuthAppID)
	}
	s.log.WarnContext(ctx, "merchant must authorize the app again", "auth_app_id", m.AuthAppID, "reason", reason)
	return m, unauthorized(m)
}

func (s *Store) count(outcome string) {
	s.refreshes[slices.Index(RefreshOutcomes, outcome)].Add(1)
}

// codeRefused reports a signed refusal of an app_auth_code.
func codeRefused(err error) bool {
	return signedRefusal(err, alipayapi.SubCodeInvalid)
}

// refreshRefused reports a signed refusal of a refresh that means the
// merchant must authorize again (docs/protocol-notes.md): the refresh
// token is invalid or expired, the token codes of 20001, or any business
// failure (40004). Configuration errors (a bad signature, an unknown app)
// and transient failures are not.
func refreshRefused(err error) bool {
	return signedRefusal(err, alipayapi.SubRefreshTokenInvalid, alipayapi.SubRefreshTokenTimeOut,
		alipayapi.SubAppAuthTokenInvalid, alipayapi.SubAppAuthTokenTimeOut)
}

// signedRefusal reports a signed answer refusing with one of the classic
// sub_codes subs (in v3: their codes, without the "isv."/"aop." prefix),
// or, in the classic protocol, with any business failure (40004).
func signedRefusal(err error, subs ...string) bool {
	var ae *upload.APIError
	if !errors.As(err, &ae) || ae.Unsigned {
		return false
	}
	if ae.StatusCode == 0 && ae.Code == "40004" {
		return true
	}
	for _, sub := range subs {
		if ae.StatusCode == 0 && ae.SubCode == sub {
			return true
		}
		if ae.StatusCode != 0 && ae.Code == sub[strings.IndexByte(sub, '.')+1:] {
			return true
		}
	}
	return false
}

// Stats are counts for metrics.
type Stats struct {
	// Refreshes counts this Store's refresh calls to Alipay by outcome
	// (each of RefreshOutcomes is present).
	Refreshes map[string]int64
	// Merchants and ReauthorizationRequired count the stored merchants,
	// fleet-wide, and those of them that must authorize again.
	Merchants               int64
	ReauthorizationRequired int64
}

// Stats returns the counts. The merchant counts read Redis; on failure the
// refresh counts are still returned, with the error.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Refreshes: map[string]int64{}}
	for i, o := range RefreshOutcomes {
		st.Refreshes[o] = s.refreshes[i].Load()
	}
	ms, err := s.List(ctx)
	if err != nil {
		return st, err
	}
	st.Merchants = int64(len(ms))
	for _, m := range ms {
		if m.Status == StatusReauthorizationRequired {
			st.ReauthorizationRequired++
		}
	}
	return st, nil
}

// Resealed is what [Store.Reseal] did with one merchant, given to its
// callback after each one.
type Resealed struct {
	// AuthAppID is the merchant's.
	AuthAppID string
	// Rewritten reports that its secrets were sealed again with the first
	// key and stored. False with a nil Err: they were sealed with the first
	// key already, it holds none, or it changed or went meanwhile (its
	// writer sealed with the first key).
	Rewritten bool
	// Err says why its record could not be sealed again: a secret the key
	// file cannot open (matching [ErrKey]) or a damaged record. Reseal goes
	// on with the next merchant.
	Err error
	// Done of Total merchants are handled, this one included.
	Done, Total int
}

// ResealCounts sums up a [Store.Reseal].
type ResealCounts struct {
	// Merchants were looked at; Rewritten of them were sealed again, and
	// Failed could not be (see [Resealed].Err).
	Merchants, Rewritten, Failed int
}

// resealBatch is how many records Reseal reads in one round trip.
const resealBatch = 100

// Reseal seals again, with the key file's first key, every stored token
// and refresh token sealed with another key. It completes a key rotation:
// once it returned with no merchant failed, the old keys can leave the key
// file. A record changed meanwhile (refreshed, authorized anew) is left
// alone: its writer sealed it with the first key already.
//
// each, when not nil, is called after each merchant, in auth_app_id order.
// A record that cannot be sealed again (see [Resealed].Err) is counted as
// failed and the others go on; the error returned is Redis failing or ctx
// ending, with the counts so far.
func (s *Store) Reseal(ctx context.Context, each func(Resealed)) (ResealCounts, error) {
	var c ResealCounts
	ids, err := s.rdb.SMembers(ctx, indexKey).Result()
	if err != nil {
		return c, fmt.Errorf("merchant: reading Redis: %w", err)
	}
	slices.Sort(ids)
	ids = slices.DeleteFunc(ids, func(id string) bool { return checkID(id) != nil })
	for batch := range slices.Chunk(ids, resealBatch) {
		cmds := make([]*redis.SliceCmd, len(batch))
		pipe := s.rdb.Pipeline()
		for i, id := range batch {
			cmds[i] = pipe.HMGet(ctx, keyPrefix+id, recordFields...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return c, fmt.Errorf("merchant: reading Redis: %w", err)
		}
		for i, id := range batch {
			res := Resealed{AuthAppID: id}
			r, err := parseRecord(id, cmds[i].Val())
			switch {
			case errors.Is(err, ErrNotFound):
				// Removed meanwhile.
			case err != nil:
				res.Err = err
			case r.m.AuthAppID != id:
				res.Err = fmt.Errorf("merchant %s: damaged record in Redis: it names merchant %q", id, r.m.AuthAppID)
			default:
				res.Rewritten, err = s.reseal(ctx, r)
				if err != nil && !errors.Is(err, ErrKey) {
					return c, err
				}
				res.Err = err
			}
			c.Merchants++
			switch {
			case res.Err != nil:
				c.Failed++
			case res.Rewritten:
				c.Rewritten++
			}
			if each != nil {
				res.Done, res.Total = c.Merchants, len(ids)
				each(res)
			}
		}
	}
	return c, nil
}

// reseal seals r's secrets again with the first key, if another sealed
// them, and stores it unless it changed meanwhile. Its errors match
// [ErrKey] for a secret that does not open; others are Redis failing.
func (s *Store) reseal(ctx context.Context, r record) (bool, error) {
	id := r.m.AuthAppID
	first := s.keys.KeyIDs()[0] + ":"
	nr := r
	changed := false
	for _, f := range []struct {
		field string
		v     *string
	}{{fieldToken, &nr.token}, {fieldRefresh, &nr.refreshed}} {
		if *f.v == "" || strings.HasPrefix(*f.v, first) {
			continue
		}
		plain, err := s.open(id, f.field, *f.v)
		if err != nil {
			return false, err
		}
		if *f.v, err = s.keys.Seal([]byte(plain), sealAD(id, f.field)); err != nil {
			return false, err
		}
		changed = true
	}
	if !changed {
		return false, nil
	}
	return s.write(ctx, nr, r.gen)
}

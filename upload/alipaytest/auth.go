package alipaytest

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/alipayapi"
)

// Defaults of the [AuthConfig] fields.
const (
	// DefaultCodeTTL is how long an app_auth_code can be exchanged: 24
	// hours, as Alipay documents.
	DefaultCodeTTL = 24 * time.Hour
	// DefaultTokenTTL is the lifetime of an app_auth_token (expires_in).
	DefaultTokenTTL = 365 * 24 * time.Hour
	// DefaultRefreshTTL is the lifetime of an app_refresh_token
	// (re_expires_in).
	DefaultRefreshTTL = 395 * 24 * time.Hour
	// DefaultOldTokenGrace is how long an app_auth_token keeps working
	// after a refresh replaced it (about 10 minutes, shared/protocol.md §3b).
	DefaultOldTokenGrace = 10 * time.Minute
	// DefaultOldRefreshGrace is how long a refresh token keeps working
	// after a refresh replaced it.
	DefaultOldRefreshGrace = 10 * time.Minute
)

// More sub-codes the emulator answers with, for the authorization calls.
const (
	SubCodeInvalid         = alipayapi.SubCodeInvalid
	SubRefreshTokenInvalid = alipayapi.SubRefreshTokenInvalid
	SubRefreshTokenTimeOut = alipayapi.SubRefreshTokenTimeOut
	SubAppAuthTokenTimeOut = alipayapi.SubAppAuthTokenTimeOut
)

// AuthConfig sets how the emulator's merchant authorizations behave. Zero
// durations take the defaults; a negative grace means none (the old token
// or refresh token stops working at the refresh).
type AuthConfig struct {
	// CodeTTL is how long an issued app_auth_code can be exchanged.
	// Default [DefaultCodeTTL].
	CodeTTL time.Duration
	// TokenTTL is the lifetime of an issued app_auth_token. Default
	// [DefaultTokenTTL].
	TokenTTL time.Duration
	// RefreshTTL is the lifetime of an issued app_refresh_token. Default
	// [DefaultRefreshTTL].
	RefreshTTL time.Duration
	// OldTokenGrace is how long the app_auth_token a refresh replaced
	// keeps working. Default [DefaultOldTokenGrace]; negative: none.
	OldTokenGrace time.Duration
	// OldRefreshGrace is how long the refresh token a refresh replaced
	// keeps working. Default [DefaultOldRefreshGrace]; negative: none.
	OldRefreshGrace time.Duration
	// RequireIssuedTokens refuses uploads whose app_auth_token the emulator
	// did not issue and Config.AppAuthTokens does not list. Default false:
	// such tokens are checked against Config.AppAuthTokens as before (all
	// accepted when it is empty).
	RequireIssuedTokens bool
}

func (c AuthConfig) withDefaults() AuthConfig {
	c.CodeTTL = cmp.Or(c.CodeTTL, DefaultCodeTTL)
	c.TokenTTL = cmp.Or(c.TokenTTL, DefaultTokenTTL)
	c.RefreshTTL = cmp.Or(c.RefreshTTL, DefaultRefreshTTL)
	c.OldTokenGrace = cmp.Or(c.OldTokenGrace, DefaultOldTokenGrace)
	c.OldRefreshGrace = cmp.Or(c.OldRefreshGrace, DefaultOldRefreshGrace)
	c.OldTokenGrace = max(c.OldTokenGrace, 0)
	c.OldRefreshGrace = max(c.OldRefreshGrace, 0)
	return c
}

// AuthMerchant names a merchant that authorizes the app: the auth_app_id
// (the merchant's app the ISV acts for) and the merchant's user_id.
type AuthMerchant struct {
	AuthAppID string `json:"auth_app_id"`
	UserID    string `json:"user_id"`
}

// Token states, as recorded in [Upload].TokenState.
const (
	// TokenCurrent is a merchant's newest app_auth_token.
	TokenCurrent = "current"
	// TokenReplaced is an app_auth_token a refresh replaced, still
	// within Config.Auth.OldTokenGrace.
	TokenReplaced = "replaced"
	// TokenListed is a token of Config.AppAuthTokens, or any token when
	// that list is empty and RequireIssuedTokens is off.
	TokenListed = "listed"
)

// MerchantAuth is the emulator's view of one merchant's authorization, for
// tests (admin: GET /_emulator/merchants). It holds the merchant's
// secrets: tests use them to check that they appear nowhere else.
type MerchantAuth struct {
	AuthAppID string `json:"auth_app_id"`
	UserID    string `json:"user_id"`
	// Revoked is set when the authorization was cancelled.
	Revoked bool `json:"revoked"`
	// Token and RefreshToken are the current ones; TokenExpiresAt when
	// the token expires.
	Token          string    `json:"app_auth_token,omitempty"`
	RefreshToken   string    `json:"app_refresh_token,omitempty"`
	TokenExpiresAt time.Time `json:"token_expires_at,omitzero"`
	// Secrets lists every token and refresh token ever issued for the
	// merchant, oldest first.
	Secrets []string `json:"secrets,omitempty"`
	// Exchanges and Refreshes count the successful code exchanges and
	// refreshes; RefreshCalls counts every refresh call, refused or not.
	Exchanges    int64 `json:"exchanges"`
	Refreshes    int64 `json:"refreshes"`
	RefreshCalls int64 `json:"refresh_calls"`
}

type authCode struct {
	merchants []AuthMerchant
	issued    time.Time
	used      bool
}

type authSecret struct {
	merchant *merchantAuth
	issued   time.Time
	expires  time.Time
	replaced time.Time // zero while current
}

type merchantAuth struct {
	MerchantAuth
	tokenRec, refreshRec *authSecret
}

// authState holds codes, tokens and refresh tokens. Its clock is the
// gateway's Now plus an offset moved by [Gateway.Advance].
type authState struct {
	cfg AuthConfig

	mu        sync.Mutex
	offset    time.Duration
	codes     map[string]*authCode
	tokens    map[string]*authSecret
	refreshes map[string]*authSecret
	merchants map[string]*merchantAuth
}

func newAuthState(cfg AuthConfig) *authState {
	a := &authState{cfg: cfg.withDefaults()}
	a.reset()
	return a
}

func (a *authState) reset() {
	a.codes = map[string]*authCode{}
	a.tokens = map[string]*authSecret{}
	a.refreshes = map[string]*authSecret{}
	a.merchants = map[string]*merchantAuth{}
}

// authNow is the clock of codes and tokens.
func (g *Gateway) authNow() time.Time {
	g.auth.mu.Lock()
	defer g.auth.mu.Unlock()
	return g.cfg.Now().Add(g.auth.offset)
}

// Advance moves the clock of codes and tokens forward by d (and back for a
// negative d), so tests can expire codes and tokens without waiting. The
// clock that checks requests' timestamps is not moved.
func (g *Gateway) Advance(d time.Duration) {
	g.auth.mu.Lock()
	g.auth.offset += d
	g.auth.mu.Unlock()
}

// IssueCode issues a one-time app_auth_code for the merchants, as Alipay
// does when merchants authorize the app (several at once: a batch
// authorization, answered with a tokens list). It expires after
// AuthConfig.CodeTTL. A merchant authorizing again gets a fresh
// authorization when the code is exchanged; a revoked one is reinstated.
func (g *Gateway) IssueCode(merchants ...AuthMerchant) (string, error) {
	if len(merchants) == 0 {
		return "", fmt.Errorf("%w: a code needs at least one merchant", ErrConfig)
	}
	for _, m := range merchants {
		if m.AuthAppID == "" {
			return "", fmt.Errorf("%w: a merchant needs an auth_app_id", ErrConfig)
		}
	}
	code := g.newID(hexID)
	now := g.authNow()
	g.auth.mu.Lock()
	defer g.auth.mu.Unlock()
	g.auth.codes[code] = &authCode{merchants: append([]AuthMerchant(nil), merchants...), issued: now}
	return code, nil
}

// ExpireToken makes the merchant's tokens (current and replaced) expire
// now; its refresh token still works. It reports whether the merchant is
// known.
func (g *Gateway) ExpireToken(authAppID string) bool {
	now := g.authNow()
	g.auth.mu.Lock()
	defer g.auth.mu.Unlock()
	m := g.auth.merchants[authAppID]
	if m == nil {
		return false
	}
	for _, s := range g.auth.tokens {
		if s.merchant == m && s.expires.After(now) {
			s.expires = now
		}
	}
	m.TokenExpiresAt = now
	return true
}

// Revoke cancels the merchant's authorization: its tokens and refresh
// tokens stop working at once, and only a new code brings it back. It
// reports whether the merchant is known.
func (g *Gateway) Revoke(authAppID string) bool {
	g.auth.mu.Lock()
	defer g.auth.mu.Unlock()
	m := g.auth.merchants[authAppID]
	if m == nil {
		return false
	}
	m.Revoked = true
	return true
}

// Merchants returns the emulator's view of every merchant that exchanged
// a code, sorted by auth_app_id.
func (g *Gateway) Merchants() []MerchantAuth {
	g.auth.mu.Lock()
	defer g.auth.mu.Unlock()
	out := make([]MerchantAuth, 0, len(g.auth.merchants))
	for _, m := range g.auth.merchants {
		c := m.MerchantAuth
		c.Secrets = append([]string(nil), m.Secrets...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AuthAppID < out[j].AuthAppID })
	return out
}

// Merchant returns the emulator's view of one merchant.
func (g *Gateway) Merchant(authAppID string) (MerchantAuth, bool) {
	for _, m := range g.Merchants() {
		if m.AuthAppID == authAppID {
			return m, true
		}
	}
	return MerchantAuth{}, false
}

// tokenGrant is one merchant's tokens in an answer of the token method.
// expires_in and re_expires_in are strings, as Alipay's documented
// examples show them.
type tokenGrant struct {
	UserID          string `json:"user_id,omitempty"`
	AuthAppID       string `json:"auth_app_id,omitempty"`
	AppAuthToken    string `json:"app_auth_token,omitempty"`
	AppRefreshToken string `json:"app_refresh_token,omitempty"`
	ExpiresIn       string `json:"expires_in,omitempty"`
	ReExpiresIn     string `json:"re_expires_in,omitempty"`
}

// tokenAnswer is the answer of the token method: one merchant's fields at
// the top, or a batch authorization's tokens list.
type tokenAnswer struct {
	Code string `json:"code,omitempty"`
	Msg  string `json:"msg,omitempty"`
	tokenGrant
	Tokens []tokenGrant `json:"tokens,omitempty"`
}

// issue gives m a new token and refresh token, replacing the current
// ones at now. Called with a.mu held.
func (g *Gateway) issue(m *merchantAuth, now time.Time) tokenGrant {
	a := g.auth
	if m.tokenRec != nil {
		m.tokenRec.replaced = now
	}
	if m.refreshRec != nil {
		m.refreshRec.replaced = now
	}
	tok, ref := g.newSecret(now), g.newSecret(now)
	m.tokenRec = &authSecret{merchant: m, issued: now, expires: now.Add(a.cfg.TokenTTL)}
	m.refreshRec = &authSecret{merchant: m, issued: now, expires: now.Add(a.cfg.RefreshTTL)}
	a.tokens[tok], a.refreshes[ref] = m.tokenRec, m.refreshRec
	m.Token, m.RefreshToken, m.TokenExpiresAt = tok, ref, m.tokenRec.expires
	m.Secrets = append(m.Secrets, tok, ref)
	return tokenGrant{
		UserID: m.UserID, AuthAppID: m.AuthAppID, AppAuthToken: tok, AppRefreshToken: ref,
		ExpiresIn:   strconv.FormatInt(int64(a.cfg.TokenTTL/time.Second), 10),
		ReExpiresIn: strconv.FormatInt(int64(a.cfg.RefreshTTL/time.Second), 10),
	}
}

// newSecret returns a token in the shape of Alipay's: a year and month,
// a tag, 32 hex digits and a suffix.
func (g *Gateway) newSecret(now time.Time) string {
	return now.Format("200601") + "BB" + g.newID(hexID) + "E36"
}

// exchange answers grant_type authorization_code.
func (g *Gateway) exchange(code string) (*tokenAnswer, *rejection) {
	now := g.authNow()
	a := g.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.codes[code]
	switch {
	case code == "":
		return nil, reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (code)")
	case c == nil:
		return nil, reject(CodeInvalidParam, SubCodeInvalid, "授权码无效 (unknown app_auth_code)")
	case c.used:
		return nil, reject(CodeInvalidParam, SubCodeInvalid, "授权码无效 (app_auth_code already used)")
	case !now.Before(c.issued.Add(a.cfg.CodeTTL)):
		return nil, reject(CodeInvalidParam, SubCodeInvalid, "授权码无效 (app_auth_code expired)")
	}
	c.used = true
	var grants []tokenGrant
	for _, who := range c.merchants {
		m := a.merchants[who.AuthAppID]
		if m == nil {
			m = &merchantAuth{MerchantAuth: MerchantAuth{AuthAppID: who.AuthAppID}}
			a.merchants[who.AuthAppID] = m
		}
		m.UserID, m.Revoked = who.UserID, false
		m.Exchanges++
		grants = append(grants, g.issue(m, now))
	}
	if len(grants) == 1 {
		return &tokenAnswer{tokenGrant: grants[0]}, nil
	}
	return &tokenAnswer{Tokens: grants}, nil
}

// refresh answers grant_type refresh_token.
func (g *Gateway) refresh(token string) (*tokenAnswer, *rejection) {
	now := g.authNow()
	a := g.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if token == "" {
		return nil, reject(CodeMissingParam, SubMissingParameter, "缺少必选参数 (refresh_token)")
	}
	s := a.refreshes[token]
	if s == nil {
		return nil, reject(CodeInvalidParam, SubRefreshTokenInvalid, "刷新令牌无效 (unknown refresh token)")
	}
	m := s.merchant
	m.RefreshCalls++
	switch {
	case m.Revoked:
		return nil, reject(CodeInvalidParam, SubRefreshTokenInvalid, "刷新令牌无效 (authorization cancelled)")
	case !s.replaced.IsZero() && !now.Before(s.replaced.Add(a.cfg.OldRefreshGrace)):
		return nil, reject(CodeInvalidParam, SubRefreshTokenInvalid, "刷新令牌无效 (replaced by a refresh)")
	case !now.Before(s.expires):
		return nil, reject(CodeInvalidParam, SubRefreshTokenTimeOut, "刷新令牌已过期")
	}
	m.Refreshes++
	return &tokenAnswer{tokenGrant: g.issue(m, now)}, nil
}

// tokenStatus says whether an app_auth_token is valid now: its state
// (TokenCurrent, TokenReplaced or TokenListed), its merchant and expiry,
// or the rejection of an invalid one.
func (g *Gateway) tokenStatus(token string) (state string, m MerchantAuth, issued, expires time.Time, rj *rejection) {
	now := g.authNow()
	a := g.auth
	// The session's times are copied under the lock: ExpireToken and a
	// refresh change them while uploads are checked.
	var replaced, lifetime time.Time
	a.mu.Lock()
	s := a.tokens[token]
	if s != nil {
		m = s.merchant.MerchantAuth
		issued, lifetime, replaced = s.issued, s.expires, s.replaced
	}
	a.mu.Unlock()
	expires = lifetime
	if !replaced.IsZero() {
		expires = minTime(lifetime, replaced.Add(a.cfg.OldTokenGrace))
	}
	switch {
	case s == nil && g.tokens[token]:
		return TokenListed, m, time.Time{}, time.Time{}, nil
	case s == nil && len(g.tokens) == 0 && !a.cfg.RequireIssuedTokens:
		return TokenListed, m, time.Time{}, time.Time{}, nil
	case s == nil:
		return "", m, time.Time{}, time.Time{}, reject(CodeInvalidToken, SubInvalidAppAuthToken, "无效的应用授权令牌")
	case m.Revoked:
		return "", m, time.Time{}, time.Time{}, reject(CodeInvalidToken, SubInvalidAppAuthToken, "无效的应用授权令牌 (authorization cancelled)")
	case !replaced.IsZero() && !now.Before(replaced.Add(a.cfg.OldTokenGrace)):
		return "", m, time.Time{}, time.Time{}, reject(CodeInvalidToken, SubInvalidAppAuthToken, "无效的应用授权令牌 (replaced by a refresh)")
	case !now.Before(lifetime):
		return "", m, time.Time{}, time.Time{}, reject(CodeInvalidToken, SubAppAuthTokenTimeOut, "应用授权令牌已过期")
	case !replaced.IsZero():
		return TokenReplaced, m, issued, expires, nil
	}
	return TokenCurrent, m, issued, expires, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// checkToken checks an upload's app_auth_token, if any, and notes on in
// whose it is and in which state.
func (g *Gateway) checkToken(in *incoming, token string) *rejection {
	if token == "" {
		return nil
	}
	state, m, _, _, rj := g.tokenStatus(token)
	if rj != nil {
		return rj
	}
	in.tokenState, in.tokenOwner = state, m.AuthAppID
	return nil
}

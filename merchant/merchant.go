package merchant

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Status is a merchant's state.
type Status string

// The statuses.
const (
	// StatusActive: the merchant's token is used for its uploads and
	// refreshed as needed.
	StatusActive Status = "active"
	// StatusReauthorizationRequired: Alipay refused to refresh the
	// merchant's token (refresh token expired or replaced, authorization
	// cancelled). Its jobs fail until the merchant authorizes the app
	// again and [Store.Authorize] stores the new authorization.
	StatusReauthorizationRequired Status = "reauthorization_required"
)

// Merchant is what is known of a merchant's authorization. It never holds
// a token: tokens are kept in Redis only sealed, and come out one at a
// time through [Store.Token] and [Store.Renew].
type Merchant struct {
	// AuthAppID is the merchant's app the ISV acts for; jobs name the
	// merchant by it.
	AuthAppID string `json:"auth_app_id"`
	// UserID is the merchant's Alipay user id (2088...).
	UserID string `json:"user_id,omitempty"`
	Status Status `json:"status"`
	// AuthorizedAt is when the current authorization was stored (the
	// code exchanged, or the token put).
	AuthorizedAt time.Time `json:"authorized_at"`
	// RefreshedAt is when the token was last refreshed; zero if never.
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
	// TokenExpiresAt and RefreshExpiresAt are when the token and the
	// refresh token expire, from expires_in and re_expires_in; zero when
	// Alipay did not say.
	TokenExpiresAt   time.Time `json:"token_expires_at,omitzero"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	// Reason says why the merchant must authorize again, and MarkedAt
	// since when (StatusReauthorizationRequired only).
	Reason   string    `json:"reason,omitempty"`
	MarkedAt time.Time `json:"marked_at,omitzero"`
}

// Grant is one merchant's tokens as Alipay gives them: the answer to a
// code exchange or a refresh, or a token an application holds itself
// ([Store.Put]). Its String, GoString, LogValue and MarshalJSON leave the
// tokens out.
type Grant struct {
	AuthAppID string
	UserID    string
	// AppAuthToken is the token uploads carry; AppRefreshToken renews it.
	AppAuthToken    string
	AppRefreshToken string
	// ExpiresIn and ReExpiresIn are the lifetimes of the token and of the
	// refresh token from now; zero: not known.
	ExpiresIn   time.Duration
	ReExpiresIn time.Duration
}

func (g Grant) String() string {
	return fmt.Sprintf("merchant.Grant{AuthAppID:%q UserID:%q AppAuthToken:[redacted] AppRefreshToken:[redacted] ExpiresIn:%s ReExpiresIn:%s}",
		g.AuthAppID, g.UserID, g.ExpiresIn, g.ReExpiresIn)
}

// GoString keeps %#v from printing the tokens.
func (g Grant) GoString() string { return g.String() }

// LogValue keeps slog from printing the tokens.
func (g Grant) LogValue() slog.Value {
	return slog.GroupValue(slog.String("auth_app_id", g.AuthAppID), slog.String("user_id", g.UserID),
		slog.Duration("expires_in", g.ExpiresIn), slog.Duration("re_expires_in", g.ReExpiresIn))
}

// MarshalJSON leaves the tokens out.
func (g Grant) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AuthAppID   string `json:"auth_app_id"`
		UserID      string `json:"user_id,omitempty"`
		ExpiresIn   int64  `json:"expires_in,omitempty"`
		ReExpiresIn int64  `json:"re_expires_in,omitempty"`
	}{g.AuthAppID, g.UserID, int64(g.ExpiresIn / time.Second), int64(g.ReExpiresIn / time.Second)})
}

// tokenRequest is the request of alipay.open.auth.token.app.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// seconds reads expires_in and re_expires_in, which Alipay's documented
// examples write as strings ("31536000") and some answers as numbers.
type seconds int64

func (s *seconds) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("a number of seconds: %s", b)
		}
		n = json.Number(str)
	}
	if n == "" {
		*s = 0
		return nil
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("a number of seconds: %q", string(n))
	}
	*s = seconds(v)
	return nil
}

func (s seconds) duration() time.Duration {
	const most = int64(1<<63-1) / int64(time.Second)
	return time.Duration(min(int64(s), most)) * time.Second
}

// tokenGrant is one merchant's fields in the answer.
type tokenGrant struct {
	UserID          string  `json:"user_id"`
	AuthAppID       string  `json:"auth_app_id"`
	AppAuthToken    string  `json:"app_auth_token"`
	AppRefreshToken string  `json:"app_refresh_token"`
	ExpiresIn       seconds `json:"expires_in"`
	ReExpiresIn     seconds `json:"re_expires_in"`
}

// tokenAnswer is the answer of alipay.open.auth.token.app: one merchant's
// fields at the top, or a batch authorization's tokens list (or both).
type tokenAnswer struct {
	tokenGrant
	Tokens []tokenGrant `json:"tokens"`
}

// grants returns the answer's merchants: the tokens list when there is
// one, else the top-level fields. A grant without auth_app_id gets
// fallback (a refresh answers for the merchant it was asked about).
func (a tokenAnswer) grants(fallback string) []Grant {
	list := a.Tokens
	if len(list) == 0 && a.AppAuthToken != "" {
		list = []tokenGrant{a.tokenGrant}
	}
	var out []Grant
	seen := map[string]bool{}
	for _, t := range list {
		id := t.AuthAppID
		if id == "" {
			id = fallback
		}
		if t.AppAuthToken == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, Grant{AuthAppID: id, UserID: t.UserID, AppAuthToken: t.AppAuthToken,
			AppRefreshToken: t.AppRefreshToken, ExpiresIn: t.ExpiresIn.duration(), ReExpiresIn: t.ReExpiresIn.duration()})
	}
	return out
}

package alipaytest

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/validate"
)

// ErrConfig reports an invalid [Config].
var ErrConfig = errors.New("alipaytest: invalid config")

// Defaults used for zero [Config] fields.
const (
	// DefaultMaxSkew is the timestamp tolerance.
	DefaultMaxSkew = 10 * time.Minute
	// DefaultImageURLBase prefixes the image_id in image_url.
	DefaultImageURLBase = "http://alipaytest.invalid/images/"
	// DefaultSlowDelay is how long a "slow" fault holds the response.
	DefaultSlowDelay = 3 * time.Second
	// DefaultMaxRecords is how many upload records are kept by default.
	DefaultMaxRecords = 100_000
	// TestAppID is the app_id [Start] configures when none is given.
	TestAppID = "2021000000000001"
)

// Config configures a [Gateway]. Zero values take the documented defaults.
type Config struct {
	// AppID is the only app_id the gateway accepts. Required.
	AppID string
	// AppPublicKey verifies request signatures (in certificate mode, the
	// key of the app certificate). Required.
	AppPublicKey *rsa.PublicKey
	// GatewayKey signs responses ("Alipay's private key"). Nil: a fresh
	// 2048-bit key is generated; read it back with [Gateway.PublicKey].
	GatewayKey *rsa.PrivateKey

	// AppCertSN switches on certificate mode: requests must carry this
	// app_cert_sn and RootCertSN as alipay_root_cert_sn, and responses
	// carry GatewayCertSN as alipay_cert_sn. Empty: public-key mode, in
	// which a request carrying app_cert_sn is rejected.
	AppCertSN string
	// RootCertSN is the expected alipay_root_cert_sn. Required with AppCertSN.
	RootCertSN string
	// GatewayCertSN is the alipay_cert_sn sent in certificate mode.
	// Required with AppCertSN.
	GatewayCertSN string

	// AppAuthTokens, when not empty, lists app_auth_token values the
	// gateway accepts besides those it issued ([Gateway.IssueCode]); any
	// other token gets 20001 aop.invalid-app-auth-token. Empty: every
	// token it did not issue is accepted, unless Auth.RequireIssuedTokens.
	AppAuthTokens []string
	// Auth sets the merchant authorizations: code and token lifetimes, how
	// long a replaced token and refresh token keep working, and whether
	// uploads may carry tokens the emulator did not issue. Tokens the
	// emulator issued are always checked against its state.
	Auth AuthConfig

	// MaxFileSize is the largest accepted image_content in bytes.
	// Default validate.DefaultMaxSize, the documented 5 MiB.
	MaxFileSize int64
	// MaxSkew is how far timestamp may be from Now. Default [DefaultMaxSkew].
	MaxSkew time.Duration
	// AllowedTypes lists the accepted image_type values (lower case; jpg
	// and jpeg are the same format). Default validate.DefaultAllowed: the
	// image formats of Alipay's integration guides plus mp4 for video.
	AllowedTypes []string
	// ImageURLBase prefixes the image_id to form image_url.
	// Default [DefaultImageURLBase].
	ImageURLBase string
	// LegacyErrors lists sub_codes answered unsigned: in the legacy
	// error_response node without a sign, as the real gateway does when it
	// cannot tell which application is calling (e.g. [SubMissingAppID],
	// [SubInvalidAppID]), and on v3 without the signature headers. Listing
	// other sub_codes emulates a forged refusal. Empty: every answer is
	// signed.
	LegacyErrors []string

	// MaxRecords is how many upload records [Gateway.Uploads] keeps: past
	// it the oldest are dropped and counted in [Stats.RecordsDropped], so a
	// long-running emulator does not grow without end. Default
	// [DefaultMaxRecords] (a record is a few hundred bytes). [Gateway.Calls]
	// keeps as many call records (a few dozen bytes each), dropped
	// silently.
	MaxRecords int
	// KeepContent keeps the bytes of every accepted file, read back with
	// [Gateway.Content], for tests that check what arrived beyond its
	// SHA-256 and size, e.g. that a converted photo decodes upright. It
	// costs the files' size in memory, up to MaxRecords of them. Default
	// false: only the hash and the size are kept.
	KeepContent bool

	// RoundTrip makes the gateway look far away, as Alipay does across the
	// internet: every answer waits this long before its first byte, once
	// the request has been read (a request then costs at least one round
	// trip more than on loopback; 30 to 200 ms are typical). The admin API
	// is not delayed. Default 0: none.
	RoundTrip time.Duration
	// Bandwidth caps how fast each request's body is read, in bytes a
	// second (a narrow uplink: a 5 MB photo at 1,250,000 bytes a second,
	// 10 Mbit/s, takes 4 s to send). Default 0: no cap.
	Bandwidth int64

	// SlowDelay is how long a "slow" fault holds the response; changeable
	// later with [Faults.SetSlowDelay]. Default [DefaultSlowDelay].
	SlowDelay time.Duration
	// Seed seeds the random choice of rate-based faults, so a run can be
	// repeated. Zero: seeded from crypto/rand.
	Seed int64

	// Now is the clock for timestamp checks and upload records.
	// Default time.Now.
	Now func() time.Time
	// Rand is the entropy for image_id and trace_id values (and for a
	// generated GatewayKey). Default crypto/rand.
	Rand io.Reader
	// Logger receives one line per request (never an app_auth_token or a
	// key). Default: discard.
	Logger *slog.Logger
}

// WithTestKeys returns a copy of c whose zero AppID, AppPublicKey and
// GatewayKey are filled for tests: [TestAppID] and the keys of [TestKeys],
// as [Start] fills them. Code without a testing.TB (examples, demos,
// helpers that build their own server) can pass the result to [NewServer]
// and sign with TestKeys().App.
func (c Config) WithTestKeys() Config {
	c.AppID = cmp.Or(c.AppID, TestAppID)
	if c.AppPublicKey == nil {
		c.AppPublicKey = &TestKeys().App.PublicKey
	}
	if c.GatewayKey == nil {
		c.GatewayKey = TestKeys().Gateway
	}
	return c
}

// withDefaults returns a copy of c with defaults filled in.
func (c Config) withDefaults() Config {
	c.MaxFileSize = cmp.Or(c.MaxFileSize, validate.DefaultMaxSize)
	c.MaxSkew = cmp.Or(c.MaxSkew, DefaultMaxSkew)
	if len(c.AllowedTypes) == 0 {
		c.AllowedTypes = slices.Clone(validate.DefaultAllowed)
	}
	c.ImageURLBase = cmp.Or(c.ImageURLBase, DefaultImageURLBase)
	c.SlowDelay = cmp.Or(c.SlowDelay, DefaultSlowDelay)
	if c.MaxRecords <= 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

func (c Config) validate() error {
	var problems []string
	if c.AppID == "" {
		problems = append(problems, "AppID is required")
	}
	if c.AppPublicKey == nil {
		problems = append(problems, "AppPublicKey is required")
	}
	if c.MaxFileSize < 0 {
		problems = append(problems, "MaxFileSize is negative")
	}
	if c.MaxSkew < 0 {
		problems = append(problems, "MaxSkew is negative")
	}
	if c.SlowDelay < 0 {
		problems = append(problems, "SlowDelay is negative")
	}
	if c.RoundTrip < 0 {
		problems = append(problems, "RoundTrip is negative")
	}
	if c.Bandwidth < 0 {
		problems = append(problems, "Bandwidth is negative")
	}
	if c.AppCertSN != "" && (c.RootCertSN == "" || c.GatewayCertSN == "") {
		problems = append(problems, "certificate mode needs AppCertSN, RootCertSN and GatewayCertSN")
	}
	if c.AppCertSN == "" && (c.RootCertSN != "" || c.GatewayCertSN != "") {
		problems = append(problems, "RootCertSN and GatewayCertSN need AppCertSN")
	}
	for _, t := range c.AllowedTypes {
		if t == "" || len(t) > validate.MaxImageTypeLen || t != strings.ToLower(t) {
			problems = append(problems, fmt.Sprintf("AllowedTypes entry %q must be 1-%d lower-case characters", t, validate.MaxImageTypeLen))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}

package alipayenv

import (
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/ratelimit"
)

// rateOff is ALIPAY_RATE_LIMIT's and ALIPAY_RATE_COOLDOWN's "none".
const rateOff = "off"

// Vars are the gateway client's settings, for a command's table and
// --help, in the order of the README's table.
var Vars = []command.Var{
	{Name: "ALIPAY_GATEWAY_URL", Default: upload.ProductionGateway, Usage: "Alipay gateway (sandbox: " + upload.SandboxGateway + ", or the emulator's URL)"},
	{Name: "ALIPAY_API", Default: string(upload.Classic), Usage: "protocol of the uploads: " + string(upload.Classic) + " (gateway.do) or " + string(upload.V3) + " (OpenAPI v3); results are the same"},
	{Name: "ALIPAY_V3_ENDPOINT", Usage: "OpenAPI v3 base URL (default: scheme and host of ALIPAY_GATEWAY_URL, e.g. " + upload.ProductionV3Endpoint + ")"},
	{Name: "ALIPAY_APP_ID", Usage: "application app_id (required)"},
	{Name: "ALIPAY_PRIVATE_KEY_FILE", Usage: "application private key, PKCS#1 or PKCS#8, PEM or bare Base64 (required)"},
	{Name: "ALIPAY_PUBLIC_KEY_FILE", Usage: "Alipay public key (public key mode)"},
	{Name: "ALIPAY_APP_CERT_FILE", Usage: "application certificate appCertPublicKey_<app_id>.crt (certificate mode)"},
	{Name: "ALIPAY_PUBLIC_CERT_FILE", Usage: "Alipay public key certificate alipayCertPublicKey_RSA2.crt (certificate mode)"},
	{Name: "ALIPAY_ROOT_CERT_FILE", Usage: "Alipay root certificate bundle alipayRootCert.crt (certificate mode)"},
	{Name: "ALIPAY_TIMEOUT", Default: upload.DefaultTimeout.String(), Usage: "time limit of one gateway request"},
	{Name: "ALIPAY_RATE_LIMIT", Default: rateOff, Usage: "calls to the gateway per second for the whole fleet (every worker with this app_id and Redis), shared through Redis: a whole number, or N/s, N/m, N/h; off: no shared limit (a throttled worker only slows itself down)"},
	{Name: "ALIPAY_RATE_BURST", Default: strconv.Itoa(ratelimit.DefaultBurst), Usage: "with ALIPAY_RATE_LIMIT: calls the fleet may make at once after a quiet spell; at most limit + burst calls in any second"},
	{Name: "ALIPAY_RATE_COOLDOWN", Default: ratelimit.DefaultCoolDown.String(), Usage: "with ALIPAY_RATE_LIMIT: how long every worker of the fleet pauses its calls once any of them is throttled (40005, HTTP 429); off: no pause"},
	{Name: "ALIPAY_RATE_MAX_WAIT", Default: ratelimit.DefaultMaxWait.String(), Usage: "with ALIPAY_RATE_LIMIT: longest wait of one call for its slot; a call that would wait longer is throttled (tried again after RETRY_THROTTLE_DELAY, outside the retry budget)"},
}

// keyFiles are the paths of the key material.
type keyFiles struct {
	privateKey, publicKey     string // public key mode
	appCert, alipayCert, root string // certificate mode
}

// Settings are the gateway client's settings as read; empty fields take
// the client's defaults.
type Settings struct {
	Protocol   upload.Protocol
	GatewayURL string
	V3Endpoint string
	AppID      string
	// Timeout is ALIPAY_TIMEOUT, 0 when unset.
	Timeout time.Duration
	// RateLimit is ALIPAY_RATE_LIMIT and its settings, nil when off. It is
	// the worker's to apply, with its Redis and key.
	RateLimit *ratelimit.Config
	keys      keyFiles
}

// Read reads the settings through get (trimmed), recording on ps what is
// wrong: syntax, a missing app id or key file, a mix of the key modes. It
// reads no file. The rate limit's settings are checked even when it is
// off, so a typo does not wait for the day it is turned on.
func Read(get func(string) string, ps *command.Problems) Settings {
	trimmed := func(name string) string { return strings.TrimSpace(get(name)) }
	s := Settings{
		GatewayURL: trimmed("ALIPAY_GATEWAY_URL"),
		V3Endpoint: trimmed("ALIPAY_V3_ENDPOINT"),
		AppID:      trimmed("ALIPAY_APP_ID"),
		Timeout:    ps.Duration("ALIPAY_TIMEOUT", trimmed("ALIPAY_TIMEOUT")),
		keys: keyFiles{
			privateKey: trimmed("ALIPAY_PRIVATE_KEY_FILE"),
			publicKey:  trimmed("ALIPAY_PUBLIC_KEY_FILE"),
			appCert:    trimmed("ALIPAY_APP_CERT_FILE"),
			alipayCert: trimmed("ALIPAY_PUBLIC_CERT_FILE"),
			root:       trimmed("ALIPAY_ROOT_CERT_FILE"),
		},
	}
	var err error
	if s.Protocol, err = upload.ParseProtocol(trimmed("ALIPAY_API")); err != nil {
		ps.Add("ALIPAY_API", err)
	}
	if s.AppID == "" {
		ps.Addf("ALIPAY_APP_ID", "required (the application's app_id)")
	}
	if gw := s.GatewayURL; gw != "" && !isHTTPURL(gw) {
		ps.Addf("ALIPAY_GATEWAY_URL", "%q is not an http(s) URL", gw)
	}
	if ep := s.V3Endpoint; ep != "" && !isHTTPURL(ep) {
		ps.Addf("ALIPAY_V3_ENDPOINT", "%q is not an http(s) URL", ep)
	}
	s.RateLimit = readRateLimit(trimmed, ps)
	s.keys.check(ps)
	return s
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// readRateLimit reads ALIPAY_RATE_LIMIT and its settings: nil when off.
func readRateLimit(trimmed func(string) string, ps *command.Problems) *ratelimit.Config {
	c := &ratelimit.Config{MaxWait: ps.Duration("ALIPAY_RATE_MAX_WAIT", trimmed("ALIPAY_RATE_MAX_WAIT"))}
	if n := ps.Positive("ALIPAY_RATE_BURST", trimmed("ALIPAY_RATE_BURST")); n > 1_000_000 {
		ps.Addf("ALIPAY_RATE_BURST", "%d is more than 1000000", n)
	} else {
		c.Burst = int(n)
	}
	// A duration is parsed as written ("1H" is no duration), and quoted
	// as written when refused; only "off" is taken in any case.
	switch s := trimmed("ALIPAY_RATE_COOLDOWN"); strings.ToLower(s) {
	case "", "0", rateOff:
		if s != "" {
			c.CoolDown = -1 // none
		}
	default:
		c.CoolDown = ps.Duration("ALIPAY_RATE_COOLDOWN", s)
	}
	s := trimmed("ALIPAY_RATE_LIMIT")
	if s == "" || strings.EqualFold(s, rateOff) {
		return nil
	}
	rate, err := ratelimit.ParseRate(s)
	if err != nil {
		ps.Addf("ALIPAY_RATE_LIMIT", "%q is not off or a rate: write calls per second as a positive whole number (e.g. 20), or N/s, N/m, N/h", s)
		return nil
	}
	c.Rate = rate
	return c
}

// check reports missing key files and a mix of the two modes.
func (k keyFiles) check(ps *command.Problems) {
	if k.privateKey == "" {
		ps.Addf("ALIPAY_PRIVATE_KEY_FILE", "required (path of the application private key)")
	}
	certs := []struct{ name, val string }{
		{"ALIPAY_APP_CERT_FILE", k.appCert},
		{"ALIPAY_PUBLIC_CERT_FILE", k.alipayCert},
		{"ALIPAY_ROOT_CERT_FILE", k.root},
	}
	var set []string
	for _, c := range certs {
		if c.val != "" {
			set = append(set, c.name)
		}
	}
	switch {
	case len(set) > 0 && k.publicKey != "":
		ps.Addf("ALIPAY_PUBLIC_KEY_FILE", "set together with %s: use either ALIPAY_PUBLIC_KEY_FILE (public key mode) or the three certificate files (certificate mode)", strings.Join(set, ", "))
	case len(set) > 0 && len(set) < len(certs):
		for _, c := range certs {
			if c.val == "" {
				ps.Addf(c.name, "required in certificate mode (%s is set)", strings.Join(set, ", "))
			}
		}
	case len(set) == 0 && k.publicKey == "":
		ps.Addf("ALIPAY_PUBLIC_KEY_FILE", "required (Alipay's public key), unless certificate mode is configured with ALIPAY_APP_CERT_FILE, ALIPAY_PUBLIC_CERT_FILE and ALIPAY_ROOT_CERT_FILE")
	}
}

// KeysBad reports whether a key or certificate variable has a problem.
func KeysBad(ps *command.Problems) bool {
	return ps.Bad(keyVars)
}

// keyVars are the variables of the key material.
const keyVars = "ALIPAY_PRIVATE_KEY_FILE, ALIPAY_PUBLIC_KEY_FILE, ALIPAY_APP_CERT_FILE, ALIPAY_PUBLIC_CERT_FILE, ALIPAY_ROOT_CERT_FILE, ALIPAY_*_CERT_FILE"

// LoadKeys reads the key files of the configured mode. In public key mode
// both files are read, so both problems are reported at once. It reads
// nothing, and reports nothing more, when the settings already have a key
// problem.
func (s Settings) LoadKeys(ps *command.Problems) (upload.Keys, bool) {
	if KeysBad(ps) {
		return upload.Keys{}, false
	}
	k := s.keys
	priv, err := sign.LoadPrivateKeyFile(k.privateKey)
	if err != nil {
		ps.Add("ALIPAY_PRIVATE_KEY_FILE", err)
	}
	if k.appCert == "" {
		pub, err := sign.LoadPublicKeyFile(k.publicKey)
		if err != nil {
			ps.Add("ALIPAY_PUBLIC_KEY_FILE", err)
		}
		if priv == nil || pub == nil {
			return upload.Keys{}, false
		}
		return upload.Keys{Signer: sign.RSA2{Key: priv}, AlipayPublicKey: pub}, true
	}
	ok := priv != nil
	for _, f := range []struct{ name, path string }{
		{"ALIPAY_APP_CERT_FILE", k.appCert},
		{"ALIPAY_PUBLIC_CERT_FILE", k.alipayCert},
		{"ALIPAY_ROOT_CERT_FILE", k.root},
	} {
		if _, err := conffile.Read(f.path, conffile.MaxSize); err != nil {
			ps.Add(f.name, err)
			ok = false
		}
	}
	if !ok {
		return upload.Keys{}, false
	}
	keys, err := upload.CertKeysFromFiles(k.privateKey, k.appCert, k.alipayCert, k.root)
	if err != nil {
		ps.Add("ALIPAY_*_CERT_FILE", err)
		return upload.Keys{}, false
	}
	return keys, true
}

// Apply sets cfg's protocol, gateway, v3 endpoint, app id, timeout and
// keys from s and keys.
func (s Settings) Apply(cfg *upload.Config, keys upload.Keys) {
	cfg.Protocol, cfg.GatewayURL, cfg.V3Endpoint, cfg.AppID, cfg.Timeout = s.Protocol, s.GatewayURL, s.V3Endpoint, s.AppID, s.Timeout
	keys.Apply(cfg)
}

// Client reads the settings through get, loads the keys and returns the
// gateway client, for a command that calls Alipay as the app but does not
// upload (the rate limit's settings are checked, not applied). Every
// problem is in the one usage error returned.
func Client(get func(string) string, log *slog.Logger) (*upload.Client, error) {
	var ps command.Problems
	s := Read(get, &ps)
	keys, _ := s.LoadKeys(&ps)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	cfg := upload.Config{Logger: log}
	s.Apply(&cfg, keys)
	cl, err := upload.New(cfg)
	if err != nil {
		return nil, command.UsageError(err)
	}
	return cl, nil
}

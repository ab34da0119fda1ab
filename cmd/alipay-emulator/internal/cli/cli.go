package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
	"github.com/storemedia/alipay-media-worker/validate"
)

// options are the command's settings, as parsed from its flags.
type options struct {
	Listen           string
	AppID            string
	KeysDir          string
	AppPublicKey     string
	GatewayKey       string
	GatewayPublicKey string
	CertMode         bool
	AppCert          string
	RootCert         string
	GatewayCert      string
	Faults           []string
	SlowDelay        time.Duration
	RoundTrip        time.Duration
	Bandwidth        int64
	MaxRecords       int
	MaxFileSize      int64
	MaxSkew          time.Duration
	Types            string
	ImageURLBase     string
	LegacyErrors     string
	AppAuthTokens    []string
	CodeTTL          time.Duration
	TokenTTL         time.Duration
	RefreshTTL       time.Duration
	OldTokenGrace    time.Duration
	OldRefreshGrace  time.Duration
	RequireIssued    bool
	Seed             int64
	LogFormat        string
	LogLevel         string
	ShutdownTimeout  time.Duration
}

type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, " ")
}

func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, v)
	return nil
}

const usageHead = `Usage: alipay-emulator [flags]

Runs an emulated Alipay gateway (classic and OpenAPI v3) for
alipay.offline.material.image.upload until SIGINT or SIGTERM. Exit status: 0 after a clean shutdown, 2 for a bad
flag, key file or certificate, 1 when the shutdown fails (see README.md,
"Exit statuses").

Flags:
`

// parse parses the command line. --help writes the usage to stdout, and
// --version the build, and both return flag.ErrHelp; other errors are
// usage errors.
func parse(args []string, stdout io.Writer) (options, error) {
	var o options
	fl := command.NewFlagSet("alipay-emulator")
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:9090", "listen `address` (port 0 picks a free one)")
	fl.StringVar(&o.AppID, "app-id", alipaytest.TestAppID, "the only app_id accepted")
	fl.StringVar(&o.KeysDir, "keys-dir", "", "`directory` of a test key set; missing keys (and certificates with --cert-mode) are generated there")
	fl.StringVar(&o.AppPublicKey, "app-public-key", "", "app public key `file` (PEM, Base64 or certificate); overrides --keys-dir")
	fl.StringVar(&o.GatewayKey, "gateway-key", "", "gateway private key `file`, generated if missing; overrides --keys-dir")
	fl.StringVar(&o.GatewayPublicKey, "gateway-public-key", "", "`file` the gateway public key is written to (default: next to the private key, "+alipaytest.GatewayPublicKeyFile+")")
	fl.BoolVar(&o.CertMode, "cert-mode", false, "certificate mode with the certificates of --keys-dir (generated if missing)")
	fl.StringVar(&o.AppCert, "app-cert", "", "certificate mode: app certificate `file` (its key verifies requests)")
	fl.StringVar(&o.RootCert, "root-cert", "", "certificate mode: Alipay root certificate bundle `file`")
	fl.StringVar(&o.GatewayCert, "gateway-cert", "", "certificate mode: Alipay (gateway) certificate `file`; must hold the gateway key")
	fl.Var(listFlag{&o.Faults}, "fault", "fault `spec` KIND=P, KIND=N% or KIND=next:N (repeatable); kinds: "+kindList())
	fl.DurationVar(&o.SlowDelay, "slow-delay", alipaytest.DefaultSlowDelay, "how long a slow fault holds the answer")
	fl.DurationVar(&o.RoundTrip, "round-trip", 0, "hold every answer this long, to look like Alipay across the internet (e.g. 80ms)")
	fl.Int64Var(&o.Bandwidth, "bandwidth", 0, "read each request body at most this many `bytes` a second (0: no cap)")
	fl.IntVar(&o.MaxRecords, "max-records", alipaytest.DefaultMaxRecords, "upload records kept for /_emulator/uploads; older ones are dropped")
	fl.Int64Var(&o.MaxFileSize, "max-file-size", validate.DefaultMaxSize, "largest accepted image_content in `bytes`")
	fl.DurationVar(&o.MaxSkew, "max-skew", alipaytest.DefaultMaxSkew, "timestamp tolerance")
	fl.StringVar(&o.Types, "types", strings.Join(validate.DefaultAllowed, ","), "accepted image_type `list`")
	fl.StringVar(&o.ImageURLBase, "image-url-base", alipaytest.DefaultImageURLBase, "prefix of image_url")
	fl.StringVar(&o.LegacyErrors, "legacy-errors", "", "sub_code `list` answered in an unsigned error_response node, e.g. isv.missing-app-id,isv.invalid-app-id")
	fl.Var(listFlag{&o.AppAuthTokens}, "app-auth-token", "accepted app_auth_token (repeatable; default: any)")
	fl.DurationVar(&o.CodeTTL, "code-ttl", alipaytest.DefaultCodeTTL, "how long an issued app_auth_code can be exchanged")
	fl.DurationVar(&o.TokenTTL, "token-ttl", alipaytest.DefaultTokenTTL, "lifetime of an issued app_auth_token (expires_in)")
	fl.DurationVar(&o.RefreshTTL, "refresh-ttl", alipaytest.DefaultRefreshTTL, "lifetime of an issued app_refresh_token (re_expires_in)")
	fl.DurationVar(&o.OldTokenGrace, "old-token-grace", alipaytest.DefaultOldTokenGrace, "how long a token replaced by a refresh keeps working (0: none)")
	fl.DurationVar(&o.OldRefreshGrace, "old-refresh-grace", alipaytest.DefaultOldRefreshGrace, "how long a refresh token replaced by a refresh keeps working (0: none)")
	fl.BoolVar(&o.RequireIssued, "require-issued-tokens", false, "refuse uploads whose app_auth_token the emulator did not issue (and --app-auth-token does not list)")
	fl.Int64Var(&o.Seed, "seed", 0, "seed of random faults (0: random)")
	fl.StringVar(&o.LogFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&o.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long running requests may finish on shutdown")
	err := fl.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageHead)
		command.PrintFlags(stdout, fl)
		return o, err
	}
	if err != nil {
		return o, command.UsageError(err)
	}
	if command.Version(fl, stdout) {
		return o, flag.ErrHelp // done: exit 0 without serving
	}
	if fl.NArg() > 0 {
		return o, command.Usagef("unexpected arguments: %s", strings.Join(fl.Args(), " "))
	}
	return o, nil
}

// noneIfZero maps a grace flag of 0 ("none") to the negative value
// alipaytest.AuthConfig takes for none (its 0 is the default).
func noneIfZero(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func kindList() string {
	var ks []string
	for _, k := range alipaytest.FaultKinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ") + " (5xx = 503)"
}

// Run runs the command until ctx ends and returns its exit status (see
// package command): a bad flag, key, certificate, fault or listen address
// is a usage error; a clean shutdown once ctx ends is success.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stdout)
	if err == nil {
		err = serve(ctx, o, stdout, stderr)
	}
	return command.Report(ctx, stderr, "alipay-emulator", err)
}

// serve runs the gateway until ctx ends. Every error before it serves is a
// usage error.
func serve(ctx context.Context, o options, stdout, stderr io.Writer) error {
	srv, g, setup, log, err := start(o, stderr)
	if err != nil {
		return command.UsageError(err)
	}
	mode := "public key"
	if setup.appCertSN != "" {
		mode = "certificate"
	}
	fmt.Fprintf(stdout, "gateway URL: %s\nv3 endpoint: %s\ngateway public key: %s\nadmin API: %s\n", srv.URL, srv.BaseURL, setup.gatewayPublicFile, srv.AdminURL(""))
	if setup.gatewayCertFile != "" {
		fmt.Fprintf(stdout, "gateway certificate: %s\n", setup.gatewayCertFile)
	}
	writeWorkerSettings(stdout, srv.URL, o.AppID, setup)
	log.Info("emulator started", "url", srv.URL, "app_id", o.AppID, "mode", mode, "faults", g.Faults().Settings())
	<-ctx.Done()
	log.Info("shutting down")
	if err := srv.Shutdown(o.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// start builds the logger, the keys and the gateway, and listens.
func start(o options, stderr io.Writer) (*alipaytest.Server, *alipaytest.Gateway, *setup, *slog.Logger, error) {
	log, err := command.NewLogger(stderr, o.LogFormat, o.LogLevel)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("--log-format / --log-level: %w", err)
	}
	setup, err := loadSetup(o)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cfg := alipaytest.Config{
		AppID:         o.AppID,
		AppPublicKey:  setup.appKey,
		GatewayKey:    setup.gatewayKey,
		AppCertSN:     setup.appCertSN,
		RootCertSN:    setup.rootCertSN,
		GatewayCertSN: setup.gatewayCertSN,
		AppAuthTokens: o.AppAuthTokens,
		MaxFileSize:   o.MaxFileSize,
		MaxSkew:       o.MaxSkew,
		AllowedTypes:  splitList(o.Types),
		ImageURLBase:  o.ImageURLBase,
		LegacyErrors:  splitList(o.LegacyErrors),
		SlowDelay:     o.SlowDelay,
		RoundTrip:     o.RoundTrip,
		Bandwidth:     o.Bandwidth,
		MaxRecords:    o.MaxRecords,
		Auth: alipaytest.AuthConfig{
			CodeTTL: o.CodeTTL, TokenTTL: o.TokenTTL, RefreshTTL: o.RefreshTTL,
			OldTokenGrace: noneIfZero(o.OldTokenGrace), OldRefreshGrace: noneIfZero(o.OldRefreshGrace),
			RequireIssuedTokens: o.RequireIssued,
		},
		Seed:   o.Seed,
		Logger: log,
	}
	g, err := alipaytest.New(cfg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, spec := range o.Faults {
		if err := g.Faults().Set(spec); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("--fault: %w", err)
		}
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("--listen: %w", err)
	}
	return alipaytest.Serve(g, ln), g, setup, log, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// writeWorkerSettings prints, after the start-up lines, the worker's
// settings for this emulator as shell lines to paste, and a blank line
// that ends the start-up output:
// the gateway, the app_id, and the absolute path of every key or
// certificate file the worker loads (the app's private key only when the
// keys directory holds it: with --app-public-key it is wherever its owner
// keeps it).
func writeWorkerSettings(w io.Writer, gatewayURL, appID string, s *setup) {
	fmt.Fprintf(w, "worker settings for this emulator (cmd/worker; see README.md, \"From the demo to a real set-up\"):\n")
	fmt.Fprintf(w, "export ALIPAY_GATEWAY_URL=%s\nexport ALIPAY_APP_ID=%s\n", gatewayURL, appID)
	if s.appPrivateFile != "" {
		fmt.Fprintf(w, "export ALIPAY_PRIVATE_KEY_FILE=%s\n", s.appPrivateFile)
	} else {
		fmt.Fprintf(w, "# ALIPAY_PRIVATE_KEY_FILE: the private key of the app public key given to the emulator\n")
	}
	if s.gatewayCertFile != "" {
		fmt.Fprintf(w, "export ALIPAY_APP_CERT_FILE=%s\nexport ALIPAY_PUBLIC_CERT_FILE=%s\nexport ALIPAY_ROOT_CERT_FILE=%s\n",
			s.appCertFile, s.gatewayCertFile, s.rootCertFile)
	} else {
		fmt.Fprintf(w, "export ALIPAY_PUBLIC_KEY_FILE=%s\n", s.gatewayPublicFile)
	}
	fmt.Fprintln(w)
}

// setup is the key material the gateway runs with, and the files a client
// of the emulator loads (absolute paths; "" when not known).
type setup struct {
	appKey            *rsa.PublicKey
	gatewayKey        *rsa.PrivateKey
	gatewayPublicFile string
	gatewayCertFile   string
	appPrivateFile    string
	appCertFile       string
	rootCertFile      string
	appCertSN         string
	rootCertSN        string
	gatewayCertSN     string
}

// loadSetup loads the keys and certificates the options name, generating
// what is missing in the keys directory or the gateway key file.
func loadSetup(o options) (*setup, error) {
	s := &setup{}
	certFlags := o.AppCert != "" || o.RootCert != "" || o.GatewayCert != ""
	if certFlags && (o.AppCert == "" || o.RootCert == "" || o.GatewayCert == "") {
		return nil, errors.New("certificate mode from files needs --app-cert, --root-cert and --gateway-cert")
	}
	if o.CertMode && o.KeysDir == "" && !certFlags {
		return nil, errors.New("--cert-mode needs --keys-dir (or --app-cert, --root-cert and --gateway-cert)")
	}
	appPublic, gatewayKey := o.AppPublicKey, o.GatewayKey
	if o.KeysDir != "" {
		if err := ensureKeysDir(o.KeysDir, appPublic == ""); err != nil {
			return nil, err
		}
		if appPublic == "" {
			appPublic = filepath.Join(o.KeysDir, alipaytest.AppPublicKeyFile)
			s.appPrivateFile = absPath(filepath.Join(o.KeysDir, alipaytest.AppPrivateKeyFile))
		}
		if gatewayKey == "" {
			gatewayKey = filepath.Join(o.KeysDir, alipaytest.GatewayPrivateKeyFile)
		}
	}
	if appPublic == "" && o.AppCert == "" {
		return nil, errors.New("no app key: give --keys-dir, --app-public-key or --app-cert")
	}
	if gatewayKey == "" {
		return nil, errors.New("no gateway key: give --keys-dir or --gateway-key")
	}
	var err error
	if s.gatewayKey, err = loadOrCreatePrivateKey(gatewayKey); err != nil {
		return nil, err
	}
	s.gatewayPublicFile = o.GatewayPublicKey
	if s.gatewayPublicFile == "" {
		s.gatewayPublicFile = filepath.Join(filepath.Dir(gatewayKey), alipaytest.GatewayPublicKeyFile)
		if filepath.Clean(s.gatewayPublicFile) == filepath.Clean(gatewayKey) {
			s.gatewayPublicFile = gatewayKey + ".pub"
		}
	}
	if err := os.WriteFile(s.gatewayPublicFile, alipaytest.PublicKeyPEM(&s.gatewayKey.PublicKey), 0o644); err != nil {
		return nil, fmt.Errorf("write gateway public key: %w", err)
	}
	s.gatewayPublicFile = absPath(s.gatewayPublicFile)
	if appPublic != "" {
		if s.appKey, err = sign.LoadPublicKeyFile(appPublic); err != nil {
			return nil, err
		}
	}

	appCert, rootCert, gatewayCert := o.AppCert, o.RootCert, o.GatewayCert
	if o.CertMode && !certFlags {
		files, err := ensureCerts(o.KeysDir, s.appKey, &s.gatewayKey.PublicKey)
		if err != nil {
			return nil, err
		}
		appCert, rootCert, gatewayCert = files.AppCert, files.RootCert, files.AlipayCert
	}
	if appCert == "" {
		return s, nil
	}
	certKey, appCertSN, err := loadCert(appCert)
	if err != nil {
		return nil, err
	}
	if o.CertMode && !certFlags && s.appKey != nil && !certKey.Equal(s.appKey) {
		return nil, fmt.Errorf("%s does not hold the app public key; delete the certificates to regenerate them", appCert)
	}
	s.appKey, s.appCertSN = certKey, appCertSN // in certificate mode the app certificate's key rules
	gwCertKey, gatewayCertSN, err := loadCert(gatewayCert)
	if err != nil {
		return nil, err
	}
	if !gwCertKey.Equal(&s.gatewayKey.PublicKey) {
		return nil, fmt.Errorf("gateway certificate %s does not hold the gateway key %s", gatewayCert, gatewayKey)
	}
	s.gatewayCertSN = gatewayCertSN
	if s.rootCertSN, err = sign.RootCertFileSN(rootCert); err != nil {
		return nil, err
	}
	s.gatewayCertFile, s.appCertFile, s.rootCertFile = absPath(gatewayCert), absPath(appCert), absPath(rootCert)
	return s, nil
}

// ensureKeysDir creates dir and, with app, generates the app key pair there
// when its files are missing. The gateway key is loaded or generated by
// loadOrCreatePrivateKey.
func ensureKeysDir(dir string, app bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("keys directory: %w", err)
	}
	if app {
		priv := filepath.Join(dir, alipaytest.AppPrivateKeyFile)
		pub := filepath.Join(dir, alipaytest.AppPublicKeyFile)
		if !exists(pub) {
			k, err := loadOrCreatePrivateKeyPKCS8(priv)
			if err != nil {
				return err
			}
			if err := os.WriteFile(pub, alipaytest.PublicKeyPEM(&k.PublicKey), 0o644); err != nil {
				return fmt.Errorf("write app public key: %w", err)
			}
		}
	}
	return nil
}

// ensureCerts returns the certificate files of dir, generating all three
// when any is missing. loadSetup checks that existing certificates hold
// the keys.
func ensureCerts(dir string, app, gateway *rsa.PublicKey) (alipaytest.CertFiles, error) {
	files := alipaytest.CertFiles{
		AppCert:    filepath.Join(dir, alipaytest.AppCertFile),
		AlipayCert: filepath.Join(dir, alipaytest.AlipayCertFile),
		RootCert:   filepath.Join(dir, alipaytest.RootCertFile),
	}
	if exists(files.AppCert) && exists(files.AlipayCert) && exists(files.RootCert) {
		return files, nil
	}
	if app == nil {
		return files, errors.New("--cert-mode: no app key to certify")
	}
	certs, err := alipaytest.GenerateCerts(app, gateway)
	if err != nil {
		return files, err
	}
	return certs.WriteFiles(dir)
}

// loadCert reads a certificate file once and returns the RSA key and the
// [sign.CertSN] of its first certificate.
func loadCert(path string) (*rsa.PublicKey, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read certificate: %w", err)
	}
	certs, err := sign.ParseCertificates(data)
	if err != nil {
		return nil, "", fmt.Errorf("certificate file %s: %w", path, err)
	}
	k, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("certificate file %s: %w: key is %T, want RSA", path, sign.ErrKeyFormat, certs[0].PublicKey)
	}
	return k, sign.CertSN(certs[0]), nil
}

// absPath is path made absolute, or path itself if that fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadOrCreatePrivateKey loads a private key file, or generates a key and
// writes it there (PKCS#1, mode 0600) when the file does not exist.
func loadOrCreatePrivateKey(path string) (*rsa.PrivateKey, error) {
	return loadOrCreate(path, func(k *rsa.PrivateKey) ([]byte, error) { return alipaytest.PrivateKeyPKCS1PEM(k), nil })
}

// loadOrCreatePrivateKeyPKCS8 is loadOrCreatePrivateKey writing PKCS#8.
func loadOrCreatePrivateKeyPKCS8(path string) (*rsa.PrivateKey, error) {
	return loadOrCreate(path, alipaytest.PrivateKeyPKCS8PEM)
}

func loadOrCreate(path string, encode func(*rsa.PrivateKey) ([]byte, error)) (*rsa.PrivateKey, error) {
	k, err := sign.LoadPrivateKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, err = rsa.GenerateKey(rand.Reader, alipaytest.KeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	pemBytes, err := encode(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("write private key: %w", err)
	}
	return k, nil
}

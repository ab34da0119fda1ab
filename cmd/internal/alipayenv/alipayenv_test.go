package alipayenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestKeyFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN NONSENSE-----\nAAAA\n-----END NONSENSE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good, err := alipaytest.TestKeys().WriteFiles(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := alipaytest.TestCerts().WriteFiles(filepath.Join(dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	pub := keyFiles{privateKey: good.AppPrivateKey, publicKey: good.GatewayPublicKey}
	cert := keyFiles{privateKey: good.AppPrivateKey, appCert: certs.AppCert, alipayCert: certs.AlipayCert, root: certs.RootCert}
	with := func(k keyFiles, f func(*keyFiles)) keyFiles { f(&k); return k }
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.pem")
	if err := os.WriteFile(huge, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keys keyFiles
		want []string // empty: loads
	}{
		{"public key mode", pub, nil},
		{"certificate mode", cert, nil},
		{"missing private key", with(pub, func(k *keyFiles) { k.privateKey = filepath.Join(dir, "nope.pem") }),
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "nope.pem", "no such file"}},
		{"private key is a directory", with(pub, func(k *keyFiles) { k.privateKey = dir }),
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "is a directory"}},
		{"private key in the wrong format", with(pub, func(k *keyFiles) { k.privateKey = garbage }),
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "garbage.pem", "unrecognised key format"}},
		{"public key file holds no public key", with(pub, func(k *keyFiles) { k.publicKey = garbage }),
			[]string{"ALIPAY_PUBLIC_KEY_FILE", "unrecognised key format"}},
		{"both key files missing", keyFiles{privateKey: filepath.Join(dir, "nope.pem"), publicKey: filepath.Join(dir, "nope-either.pem")},
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE: sign: read public key: open " + filepath.Join(dir, "nope-either.pem")}},
		// Issue 12 item 7: devices and FIFOs are refused, not read without end.
		{"private key is /dev/zero", with(pub, func(k *keyFiles) { k.privateKey = "/dev/zero" }),
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "/dev/zero is a character device, not a regular file"}},
		{"public key is a FIFO", with(pub, func(k *keyFiles) { k.publicKey = fifo }),
			[]string{"ALIPAY_PUBLIC_KEY_FILE", "is a named pipe (FIFO), not a regular file"}},
		{"app certificate is /dev/zero", with(cert, func(k *keyFiles) { k.appCert = "/dev/zero" }),
			[]string{"ALIPAY_APP_CERT_FILE", "is a character device"}},
		{"root certificate is a FIFO", with(cert, func(k *keyFiles) { k.root = fifo }),
			[]string{"ALIPAY_ROOT_CERT_FILE", "is a named pipe (FIFO)"}},
		{"private key too large", with(pub, func(k *keyFiles) { k.privateKey = huge }),
			[]string{"ALIPAY_PRIVATE_KEY_FILE", "file too large"}},
		// The Alipay certificate holds the gateway's key, not the app's.
		{"app certificate of another key", with(cert, func(k *keyFiles) { k.appCert = certs.AlipayCert }),
			[]string{"does not match the private key"}},
		{"missing app certificate", with(cert, func(k *keyFiles) { k.appCert = filepath.Join(dir, "missing.crt") }),
			[]string{"ALIPAY_APP_CERT_FILE", "missing.crt"}},
	}
	for _, tt := range tests {
		var ps command.Problems
		keys, ok := Settings{keys: tt.keys}.LoadKeys(&ps)
		got := fmt.Sprint(ps.List)
		if len(tt.want) == 0 {
			if !ok || keys.Signer == nil || keys.AlipayPublicKey == nil || len(ps.List) > 0 {
				t.Errorf("%s: ok %v, keys %+v, problems %s", tt.name, ok, keys, got)
			}
			continue
		}
		if ok {
			t.Errorf("%s: loaded", tt.name)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: problems %q do not contain %q", tt.name, got, w)
			}
		}
		if strings.Contains(got, "PRIVATE KEY-----") {
			t.Errorf("%s: problems quote a key: %q", tt.name, got)
		}
	}
}

// ALIPAY_RATE_COOLDOWN's "off" is taken in any case, a duration only as
// Go writes it, and a refused value is quoted as written.
func TestCoolDownAsWritten(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  time.Duration
		bad   string // the problem, when refused
	}{
		{"OFF", -1, ""},
		{" Off ", -1, ""},
		{"0", -1, ""},
		{"", 0, ""},
		{"90s", 90 * time.Second, ""},
		{"1H", 0, `ALIPAY_RATE_COOLDOWN: "1H" is not a positive duration`},
		{"5S", 0, `ALIPAY_RATE_COOLDOWN: "5S" is not a positive duration`},
	} {
		var ps command.Problems
		env := map[string]string{"ALIPAY_RATE_LIMIT": "20", "ALIPAY_RATE_COOLDOWN": tc.value}
		s := Read(func(k string) string { return env[k] }, &ps)
		if s.RateLimit == nil {
			t.Fatalf("%q: no rate limit read", tc.value)
		}
		if s.RateLimit.CoolDown != tc.want {
			t.Errorf("%q: cool-down %v, want %v", tc.value, s.RateLimit.CoolDown, tc.want)
		}
		got := fmt.Sprint(ps.List)
		if tc.bad == "" && ps.Bad("ALIPAY_RATE_COOLDOWN") {
			t.Errorf("%q refused: %s", tc.value, got)
		}
		if tc.bad != "" && !strings.Contains(got, tc.bad) {
			t.Errorf("%q: problems %s, want %s", tc.value, got, tc.bad)
		}
	}
}

package cli

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	enqueue "github.com/storemedia/alipay-media-worker/cmd/enqueue/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// The worker and enqueue (merchant authorize) read the app's gateway
// settings the same way: a setting one refuses the other refuses with the
// same problems, word for word, and one accepts what the other accepts.
func TestBothCommandsReadAlipaySettingsAlike(t *testing.T) {
	t.Parallel()
	rs := testproc.StartRedis(t)
	gw := alipaytest.Start(t, alipaytest.Config{})
	dir := t.TempDir()
	kf, err := alipaytest.TestKeys().WriteFiles(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := alipaytest.TestCerts().WriteFiles(filepath.Join(dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	mk, _ := merchant.GenerateKey()
	keyFile := filepath.Join(dir, "merchant.keys")
	if err := os.WriteFile(keyFile, []byte(mk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"REDIS_URL": rs.URL(), "MEDIA_ROOTS": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json",
		"MERCHANT_KEY_FILE": keyFile, "ALIPAY_GATEWAY_URL": gw.URL, "ALIPAY_APP_ID": alipaytest.TestAppID,
		"ALIPAY_PRIVATE_KEY_FILE": kf.AppPrivateKey, "ALIPAY_PUBLIC_KEY_FILE": kf.GatewayPublicKey,
	}
	tests := []struct {
		name string
		set  map[string]string
		want []string // empty: accepted
	}{
		{"classic", nil, nil},
		{"v3", map[string]string{"ALIPAY_API": "v3"}, nil},
		{"timeout and rate limit", map[string]string{"ALIPAY_TIMEOUT": "30s", "ALIPAY_RATE_LIMIT": "20/s", "ALIPAY_RATE_COOLDOWN": "off"}, nil},
		{"bad protocol", map[string]string{"ALIPAY_API": "v2"}, []string{`ALIPAY_API: upload: unknown protocol "v2": want classic or v3`}},
		{"no app id", map[string]string{"ALIPAY_APP_ID": ""}, []string{"ALIPAY_APP_ID: required (the application's app_id)"}},
		{"gateway not http", map[string]string{"ALIPAY_GATEWAY_URL": "ftp://x"}, []string{`ALIPAY_GATEWAY_URL: "ftp://x" is not an http(s) URL`}},
		{"v3 endpoint not http", map[string]string{"ALIPAY_V3_ENDPOINT": "x"}, []string{`ALIPAY_V3_ENDPOINT: "x" is not an http(s) URL`}},
		{"no public key", map[string]string{"ALIPAY_PUBLIC_KEY_FILE": ""}, []string{"ALIPAY_PUBLIC_KEY_FILE: required (Alipay's public key)"}},
		{"both key modes", map[string]string{"ALIPAY_ROOT_CERT_FILE": certs.RootCert}, []string{"ALIPAY_PUBLIC_KEY_FILE: set together with ALIPAY_ROOT_CERT_FILE"}},
		{"missing key file", map[string]string{"ALIPAY_PRIVATE_KEY_FILE": filepath.Join(dir, "nope.pem")}, []string{"ALIPAY_PRIVATE_KEY_FILE: ", "nope.pem"}},
		{"bad timeout", map[string]string{"ALIPAY_TIMEOUT": "30"}, []string{`ALIPAY_TIMEOUT: "30" is not a positive duration`}},
		{"bad rate", map[string]string{"ALIPAY_RATE_LIMIT": "fast"}, []string{`ALIPAY_RATE_LIMIT: "fast" is not off or a rate`}},
		{"bad burst, limit off", map[string]string{"ALIPAY_RATE_BURST": "0"}, []string{`ALIPAY_RATE_BURST: "0" is not a positive whole number`}},
		{"two at once", map[string]string{"ALIPAY_API": "v4", "ALIPAY_TIMEOUT": "soon"}, []string{"ALIPAY_API: ", "ALIPAY_TIMEOUT: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			env := maps.Clone(base)
			maps.Copy(env, tt.set)

			var wout syncbuf.Buffer
			wcode := Main(ctx, []string{"--check"}, envOf(env), &wout, &wout)
			var fromWorker []string
			for _, line := range strings.Split(wout.String(), "\n") {
				var rec struct{ Problem string }
				if json.Unmarshal([]byte(line), &rec) == nil && rec.Problem != "" {
					fromWorker = append(fromWorker, rec.Problem)
				}
			}

			code, err := gw.IssueCode(alipaytest.AuthMerchant{AuthAppID: "2021000000000042", UserID: "2088000000000042"})
			if err != nil {
				t.Fatal(err)
			}
			var eout, eerr syncbuf.Buffer
			ecode := enqueue.Main(ctx, []string{"merchant", "authorize", "--code", code},
				enqueue.Env{Stdout: &eout, Stderr: &eerr, Getenv: func(k string) string { return env[k] }})
			var fromEnqueue []string
			if msg, ok := strings.CutPrefix(strings.Split(eerr.String(), "\n")[0], "enqueue: "); ok {
				fromEnqueue = strings.Split(msg, "; ")
			}

			if len(tt.want) == 0 {
				if wcode != command.ExitOK || ecode != command.ExitOK {
					t.Fatalf("accepted by neither or one: worker %d %s; enqueue %d %s", wcode, wout.String(), ecode, eerr.String())
				}
				return
			}
			if wcode != command.ExitUsage || ecode != command.ExitUsage {
				t.Errorf("exit: worker %d, enqueue %d; want %d for both", wcode, ecode, command.ExitUsage)
			}
			slices.Sort(fromWorker)
			slices.Sort(fromEnqueue)
			if !slices.Equal(fromWorker, fromEnqueue) {
				t.Fatalf("the commands differ:\nworker:  %q\nenqueue: %q", fromWorker, fromEnqueue)
			}
			joined := strings.Join(fromWorker, "\n")
			for _, w := range tt.want {
				if !strings.Contains(joined, w) {
					t.Errorf("problems %q lack %q", joined, w)
				}
			}
		})
	}
}

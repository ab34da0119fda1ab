package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/storemedia/alipay-media-worker/cmd/alipay-emulator/internal/cli"
	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// emulator runs the command with args and returns the start-up lines it
// printed ("key: value", and "export NAME=value" as NAME), up to the blank
// line that ends them, its log, and a stop function returning the exit
// code.
func emulator(t *testing.T, args ...string) (map[string]string, *syncbuf.Buffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	logs := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), pw, logs)
		pw.Close()
	}()
	lines := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if sc.Text() == "" {
			break
		}
		if nv, ok := strings.CutPrefix(sc.Text(), "export "); ok {
			k, v, _ := strings.Cut(nv, "=")
			lines[k] = v
			continue
		}
		k, v, _ := strings.Cut(sc.Text(), ": ")
		lines[k] = v
	}
	go io.Copy(io.Discard, pr)
	if lines["gateway URL"] == "" {
		cancel()
		t.Fatalf("no start-up lines (exit %d); log:\n%s", <-done, logs)
	}
	stop := sync.OnceValue(func() int {
		cancel()
		return <-done
	})
	t.Cleanup(func() { stop() })
	return lines, logs, stop
}

func TestRunWithKeysDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lines, logs, stop := emulator(t, "-keys-dir", dir, "-fault", "40005=next:1", "-app-auth-token", "secret-token-value")

	if want := filepath.Join(dir, alipaytest.GatewayPublicKeyFile); lines["gateway public key"] != want {
		t.Errorf("gateway public key line %q, want %q", lines["gateway public key"], want)
	}
	appKey, err := sign.LoadPrivateKeyFile(filepath.Join(dir, alipaytest.AppPrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	gwKey, err := sign.LoadPublicKeyFile(lines["gateway public key"])
	if err != nil {
		t.Fatal(err)
	}
	c, err := upload.New(upload.Config{
		GatewayURL: lines["gateway URL"], AppID: alipaytest.TestAppID,
		Signer: sign.RSA2{Key: appKey}, AlipayPublicKey: gwKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	up := func() (upload.Result, error) {
		f := mediagen.Sample("jpg", 1)
		return c.Upload(t.Context(), upload.Request{
			Content: bytes.NewReader(f), Size: int64(len(f)), ImageType: "jpg", ImageName: "a.jpg",
			AppAuthToken: "secret-token-value",
		})
	}
	if _, err := up(); upload.Classify(err) != upload.Throttled {
		t.Errorf("first upload: %v, want throttled (-fault 40005=next:1)", err)
	}
	res, err := up()
	if err != nil {
		t.Fatalf("second upload: %v", err)
	}

	// Steer and observe it over the admin API.
	admin := lines["admin API"]
	resp, err := http.Post(admin+"faults", "application/json", strings.NewReader(`{"specs":["503=next:1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := up(); upload.Classify(err) != upload.Retryable {
		t.Errorf("upload after POST faults: %v, want retryable", err)
	}
	resp, err = http.Get(admin + "uploads")
	if err != nil {
		t.Fatal(err)
	}
	var ups []alipaytest.Upload
	err = json.NewDecoder(resp.Body).Decode(&ups)
	resp.Body.Close()
	if err != nil || len(ups) != 1 || ups[0].ImageID != res.ImageID {
		t.Errorf("uploads %+v (%v)", ups, err)
	}

	if code := stop(); code != command.ExitOK { // stopped by its context: a clean shutdown
		t.Errorf("exit code %d", code)
	}
	if strings.Contains(logs.String(), "secret-token-value") {
		t.Error("the log contains the app_auth_token")
	}
	if !strings.Contains(logs.String(), res.ImageID) {
		t.Errorf("the log does not mention the upload:\n%s", logs)
	}

	// A second run reuses the generated keys.
	lines2, _, _ := emulator(t, "-keys-dir", dir)
	gwKey2, err := sign.LoadPublicKeyFile(lines2["gateway public key"])
	if err != nil || !gwKey2.Equal(gwKey) {
		t.Errorf("the gateway key changed between runs (%v)", err)
	}
}

func TestRunCertMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lines, _, _ := emulator(t, "-keys-dir", dir, "-cert-mode")
	appKey, err := sign.LoadPrivateKeyFile(filepath.Join(dir, alipaytest.AppPrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	appSN, err1 := sign.CertFileSN(filepath.Join(dir, alipaytest.AppCertFile))
	rootSN, err2 := sign.RootCertFileSN(filepath.Join(dir, alipaytest.RootCertFile))
	gwKey, err3 := sign.LoadPublicKeyFile(filepath.Join(dir, alipaytest.AlipayCertFile))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	gwSN, err := sign.CertFileSN(filepath.Join(dir, alipaytest.AlipayCertFile))
	if err != nil {
		t.Fatal(err)
	}
	// Both protocols, from the printed addresses.
	for _, p := range []upload.Protocol{upload.Classic, upload.V3} {
		c, err := upload.New(upload.Config{
			Protocol: p, GatewayURL: lines["gateway URL"], V3Endpoint: lines["v3 endpoint"],
			AppID: alipaytest.TestAppID, Signer: sign.RSA2{Key: appKey},
			AlipayPublicKey: gwKey, AppCertSN: appSN, AlipayRootCertSN: rootSN, AlipayCertSN: gwSN,
		})
		if err != nil {
			t.Fatal(err)
		}
		f := mediagen.Sample("jpg", 1)
		if _, err := c.Upload(t.Context(), upload.Request{Content: bytes.NewReader(f), Size: int64(len(f)), ImageType: "jpg", ImageName: "a"}); err != nil {
			t.Errorf("certificate-mode upload over %s: %v", p, err)
		}
	}
}

// The certificates must hold the keys: an app certificate of another key in
// the keys directory, or a certificate flag naming a key file, is an error.
func TestRunCertModeChecksCertificates(t *testing.T) {
	t.Parallel()
	keys := alipaytest.TestKeys()
	dir := t.TempDir()
	keyFiles, err := keys.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The app certificate holds the gateway key, not the app key.
	certs, err := alipaytest.GenerateCerts(&keys.Gateway.PublicKey, &keys.Gateway.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	certFiles, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-keys-dir", dir, "-cert-mode"}, "does not hold the app public key"},
		{[]string{"-keys-dir", dir, "-app-cert", keyFiles.AppPublicKey, "-root-cert", certFiles.RootCert, "-gateway-cert", certFiles.AlipayCert},
			"certificate file " + keyFiles.AppPublicKey},
	} {
		var stderr bytes.Buffer
		code := cli.Run(t.Context(), append([]string{"-listen", "127.0.0.1:0"}, tc.args...), io.Discard, &stderr)
		if code != command.ExitUsage || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), command.ExitUsage, tc.msg)
		}
	}
}

func TestRunWithKeyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files, err := alipaytest.TestKeys().WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	gwKeyPath := filepath.Join(t.TempDir(), "new", "gateway.pem") // missing: generated
	lines, _, _ := emulator(t, "-app-public-key", files.AppPublicKey, "-gateway-key", gwKeyPath, "-app-id", "2021000000000042")
	if lines["gateway public key"] != filepath.Join(filepath.Dir(gwKeyPath), alipaytest.GatewayPublicKeyFile) {
		t.Errorf("gateway public key at %q", lines["gateway public key"])
	}
	priv, err := sign.LoadPrivateKeyFile(gwKeyPath)
	if err != nil {
		t.Fatalf("generated gateway key: %v", err)
	}
	pub, err := sign.LoadPublicKeyFile(lines["gateway public key"])
	if err != nil || !pub.Equal(&priv.PublicKey) {
		t.Errorf("printed public key does not match the generated private key (%v)", err)
	}
	c, err := upload.New(upload.Config{
		GatewayURL: lines["gateway URL"], AppID: "2021000000000042",
		Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: pub,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := mediagen.Sample("jpg", 1)
	if _, err := c.Upload(t.Context(), upload.Request{Content: bytes.NewReader(f), Size: int64(len(f)), ImageType: "jpg", ImageName: "a"}); err != nil {
		t.Errorf("upload: %v", err)
	}
}

func TestRunRejectsBadSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badKey := filepath.Join(t.TempDir(), "app_public_key.pem")
	if err := os.WriteFile(badKey, []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-app-public-key", badKey, "-gateway-key", filepath.Join(dir, "gw.pem")}, command.ExitUsage, badKey},
		{[]string{"-no-such-flag"}, command.ExitUsage, "flag provided but not defined"},
		{[]string{"extra"}, command.ExitUsage, "unexpected arguments"},
		{[]string{}, command.ExitUsage, "no app key"},
		{[]string{"-cert-mode"}, command.ExitUsage, "--cert-mode needs --keys-dir"},
		{[]string{"-app-cert", "x"}, command.ExitUsage, "needs --app-cert, --root-cert and --gateway-cert"},
		{[]string{"-keys-dir", dir, "-fault", "bogus=1"}, command.ExitUsage, "unknown kind"},
		{[]string{"-keys-dir", dir, "-log-format", "xml"}, command.ExitUsage, "--log-format"},
		{[]string{"-keys-dir", dir, "-max-file-size", "-1"}, command.ExitUsage, "MaxFileSize is negative"},
		{[]string{"-keys-dir", dir, "-listen", "256.0.0.1:1"}, command.ExitUsage, "--listen"},
	} {
		var stderr bytes.Buffer
		code := cli.Run(t.Context(), append([]string{"-listen", "127.0.0.1:0"}, tc.args...), io.Discard, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
	var help bytes.Buffer
	if code := cli.Run(t.Context(), []string{"-h"}, &help, io.Discard); code != command.ExitOK ||
		!strings.Contains(help.String(), "\n  --keys-dir directory\n") || strings.Contains(help.String(), " -keys-dir") {
		t.Errorf("-h: exit %d, help on stdout:\n%s", code, help.String())
	}
}

// TestPrintedWorkerSettingsPassTheWorkersCheck pastes the settings the
// emulator prints, in public-key and in certificate mode, into the
// environment of a built cmd/worker: its start-up checks (keys,
// certificates against keys, media roots, Redis) pass with nothing else
// but Redis and a media root. In public-key mode the printed files also
// sign an upload the emulator accepts and verify its answer.
func TestPrintedWorkerSettingsPassTheWorkersCheck(t *testing.T) {
	t.Parallel()
	bins, err := testproc.Build(t.Context(), t.TempDir(), testproc.CmdWorker)
	if err != nil {
		t.Fatal(err)
	}
	rs := testproc.StartRedis(t)
	for _, mode := range [][]string{nil, {"-cert-mode"}} {
		lines, _, _ := emulator(t, append([]string{"-keys-dir", t.TempDir()}, mode...)...)
		env := []string{"PATH=/usr/bin:/bin", "REDIS_URL=" + rs.URL(), "MEDIA_ROOTS=" + t.TempDir(), "HTTP_ADDR=off"}
		var printed []string
		for k, v := range lines {
			if strings.HasPrefix(k, "ALIPAY_") {
				env = append(env, k+"="+v)
				printed = append(printed, k)
			}
		}
		cmd := exec.CommandContext(t.Context(), bins[0], "--check")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("mode %v: worker --check with the printed %v: %v\n%s", mode, printed, err, out)
		}
		if mode != nil {
			continue
		}
		appKey, err1 := sign.LoadPrivateKeyFile(lines["ALIPAY_PRIVATE_KEY_FILE"])
		gwKey, err2 := sign.LoadPublicKeyFile(lines["ALIPAY_PUBLIC_KEY_FILE"])
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		c, err := upload.New(upload.Config{GatewayURL: lines["ALIPAY_GATEWAY_URL"], AppID: lines["ALIPAY_APP_ID"],
			Signer: sign.RSA2{Key: appKey}, AlipayPublicKey: gwKey})
		if err != nil {
			t.Fatal(err)
		}
		f := mediagen.Sample("png", 1)
		if _, err := c.Upload(t.Context(), upload.Request{Content: bytes.NewReader(f), Size: int64(len(f)), ImageType: "png", ImageName: "a.png"}); err != nil {
			t.Errorf("upload with the printed settings: %v", err)
		}
	}
}

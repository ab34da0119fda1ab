package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/internal/workertest"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/tasks"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestMerchantKeygen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "merchant.keys")
	if code, out, errOut := run(ctx, nil, "merchant", "keygen", path); code != command.ExitOK || !strings.Contains(out, "MERCHANT_KEY_FILE") {
		t.Fatalf("keygen: %d %q %q", code, out, errOut)
	}
	first, err := merchant.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if code, _, errOut := run(ctx, nil, "merchant", "keygen", path); code != command.ExitUsage || !strings.Contains(errOut, "--rotate") {
		t.Errorf("keygen over an existing file: %d %q", code, errOut)
	}
	if code, _, errOut := run(ctx, nil, "merchant", "keygen", "--rotate", path); code != command.ExitOK {
		t.Fatalf("keygen --rotate: %d %q", code, errOut)
	}
	rotated, err := merchant.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if ids := rotated.KeyIDs(); len(ids) != 2 || ids[1] != first.KeyIDs()[0] {
		t.Errorf("rotated key IDs %v, want a new one before %v", ids, first.KeyIDs())
	}
}

// merchantEnv runs a worker with a merchant key file against the
// emulator, and returns the environment of enqueue for it.
func merchantEnv(t *testing.T, root string) (map[string]string, *workertest.Worker) {
	t.Helper()
	rs := testproc.StartRedis(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "merchant.keys")
	if code, _, errOut := run(t.Context(), nil, "merchant", "keygen", keyFile); code != 0 {
		t.Fatal(errOut)
	}
	keys, err := merchant.LoadKeyring(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	w := workertest.Start(t, workertest.Config{
		RedisURL: rs.URL(), MediaRoots: []string{root}, MerchantKeys: keys,
		Retry: tasks.RetryPolicy{BaseDelay: 100 * time.Millisecond, Jitter: -1}, DelayedTaskCheckInterval: 100 * time.Millisecond,
	})
	files, err := alipaytest.TestKeys().WriteFiles(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"REDIS_URL":               rs.URL(),
		"MEDIA_ROOTS":             root,
		"MERCHANT_KEY_FILE":       keyFile,
		"ALIPAY_APP_ID":           alipaytest.TestAppID,
		"ALIPAY_PRIVATE_KEY_FILE": files.AppPrivateKey,
		"ALIPAY_PUBLIC_KEY_FILE":  files.GatewayPublicKey,
		"ALIPAY_GATEWAY_URL":      w.Gateway.URL,
	}, w
}

// The whole life of a merchant through the command: authorize, upload
// for it, revoked (its jobs fail as merchant_unauthorized, saying what to
// do), authorized again with --requeue (they complete), removed. Bad
// codes and a wrong key file are refused clearly. No token is printed.
func TestMerchantCommands(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	root := t.TempDir()
	copySample(t, root, "photo.jpg", "a/front.jpg")
	copySample(t, root, "photo.png", "b/back.png")
	env, w := merchantEnv(t, root)
	const id = "2021000000000777"
	code, err := w.Gateway.IssueCode(alipaytest.AuthMerchant{AuthAppID: id, UserID: "2088000000000777"})
	if err != nil {
		t.Fatal(err)
	}
	var printed strings.Builder
	runM := func(args ...string) (int, string, string) {
		c, out, errOut := run(ctx, env, args...)
		printed.WriteString(out + errOut)
		return c, out, errOut
	}

	if c, _, errOut := runM("merchant", "authorize", "--code", "not-a-code"); c != command.ExitFailed || !strings.Contains(errOut, "app_auth_code") {
		t.Errorf("unknown code: %d %q", c, errOut)
	}
	c, out, errOut := runM("merchant", "authorize", "--code", code)
	if c != command.ExitOK || !strings.Contains(out, id) || !strings.Contains(out, "active") {
		t.Fatalf("authorize: %d %q %q", c, out, errOut)
	}
	if c, _, errOut := runM("merchant", "authorize", "--code", code); c != command.ExitFailed {
		t.Errorf("reused code: %d %q", c, errOut)
	}
	if c, out, _ := runM("merchant", "list", "--json"); c != 0 || !strings.Contains(out, `"auth_app_id":"`+id+`"`) {
		t.Errorf("list: %d %q", c, out)
	}
	if c, _, errOut := runM("merchant", "show", "2021000000000000"); c != command.ExitFailed || !strings.Contains(errOut, "2021000000000000") {
		t.Errorf("show unknown: %d %q", c, errOut)
	}

	// Uploads for the merchant carry its current token.
	if c, out, errOut := runM("--merchant", id, "--wait", "--progress", "none", filepath.Join(root, "a")); c != 0 {
		t.Fatalf("import: %d %q %q", c, out, errOut)
	}
	ups := w.Gateway.Uploads()
	if len(ups) != 1 || ups[0].AuthAppID != id || ups[0].TokenState != alipaytest.TokenCurrent {
		t.Fatalf("uploads %+v", ups)
	}

	// Revoked: the job fails as merchant_unauthorized and says what to do.
	w.Gateway.Revoke(id)
	c, out, errOut = runM("--merchant", id, "--wait", "--progress", "none", "--manifest", "-", filepath.Join(root, "b"))
	if c != command.ExitFailed || !strings.Contains(out, string(tasks.ReasonMerchantUnauthorized)) || !strings.Contains(out, "--requeue") {
		t.Fatalf("import for a revoked merchant: %d %q %q", c, out, errOut)
	}
	if c, out, _ := runM("merchant", "show", id); c != 0 || !strings.Contains(out, string(merchant.StatusReauthorizationRequired)) {
		t.Errorf("show after revocation: %d %q", c, out)
	}
	// A wrong key file cannot refresh: a configuration error.
	wrong := filepath.Join(t.TempDir(), "other.keys")
	runM("merchant", "keygen", wrong)
	wrongEnv := map[string]string{}
	for k, v := range env {
		wrongEnv[k] = v
	}
	wrongEnv["MERCHANT_KEY_FILE"] = wrong
	if c, _, errOut := run(ctx, wrongEnv, "merchant", "refresh", id); c != command.ExitUsage && c != command.ExitFailed {
		t.Errorf("refresh with a wrong key file: %d %q", c, errOut)
	}

	// Authorized again with --requeue: the archived job completes.
	again, err := w.Gateway.IssueCode(alipaytest.AuthMerchant{AuthAppID: id, UserID: "2088000000000777"})
	if err != nil {
		t.Fatal(err)
	}
	if c, out, errOut := runM("merchant", "authorize", "--requeue", "--code", again); c != 0 || !strings.Contains(errOut, "re-ran 1 archived task") {
		t.Fatalf("authorize --requeue: %d %q %q", c, out, errOut)
	}
	if c, out, errOut := runM("--merchant", id, "--wait", "--progress", "none", filepath.Join(root, "b")); c != 0 {
		t.Fatalf("import after re-authorization: %d %q %q", c, out, errOut)
	}
	if n := len(w.Gateway.Uploads()); n != 2 {
		t.Errorf("%d uploads reached the emulator, want 2", n)
	}

	if c, _, errOut := runM("merchant", "remove", id); c != 0 {
		t.Errorf("remove: %d %q", c, errOut)
	}
	if c, _, _ := runM("merchant", "show", id); c != command.ExitFailed {
		t.Errorf("show after remove: %d", c)
	}
	m, _ := w.Gateway.Merchant(id)
	for _, s := range m.Secrets {
		if strings.Contains(printed.String(), s) {
			t.Errorf("the command printed a token or refresh token")
		}
	}
}

// A key file rotated with keygen --rotate still opens the records the old
// key sealed; a key file without the old key refuses them clearly (exit
// 2), and the record is still there for the right key file.
func TestMerchantKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	env, w := merchantEnv(t, t.TempDir())
	const id = "2021000000000888"
	code, err := w.Gateway.IssueCode(alipaytest.AuthMerchant{AuthAppID: id, UserID: "2088000000000888"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _, errOut := run(ctx, env, "merchant", "authorize", "--code", code); c != 0 {
		t.Fatalf("authorize: %d %q", c, errOut)
	}
	wrong := filepath.Join(t.TempDir(), "other.keys")
	if c, _, errOut := run(ctx, nil, "merchant", "keygen", wrong); c != 0 {
		t.Fatal(errOut)
	}
	wrongEnv := map[string]string{}
	for k, v := range env {
		wrongEnv[k] = v
	}
	wrongEnv["MERCHANT_KEY_FILE"] = wrong
	if c, _, errOut := run(ctx, wrongEnv, "merchant", "refresh", id); c != command.ExitUsage || !strings.Contains(errOut, "key") {
		t.Errorf("refresh with a wrong key file: %d %q, want exit 2 naming the key", c, errOut)
	}
	if c, _, errOut := run(ctx, env, "merchant", "keygen", "--rotate", env["MERCHANT_KEY_FILE"]); c != 0 {
		t.Fatalf("rotate: %d %q", c, errOut)
	}
	if c, out, errOut := run(ctx, env, "merchant", "refresh", id); c != 0 || !strings.Contains(out, "active") {
		t.Fatalf("refresh after rotation: %d %q %q", c, out, errOut)
	}
	if c, out, errOut := run(ctx, env, "merchant", "show", id); c != 0 || !strings.Contains(out, id) {
		t.Errorf("show after rotation: %d %q %q", c, out, errOut)
	}
}

package cli

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/command"
	"github.com/storemedia/alipay-media-worker/internal/redisurl"
	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
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

// A key rotation through the command: keygen --rotate, reseal, then the
// old key leaves the key file. A merchant the key file cannot open is
// named and the others are still sealed again (exit 1); a wrong key file
// opens none (exit 2); Redis away is exit 3. Afterwards a key file with
// the new key alone opens every record, and no token is in Redis in clear.
func TestMerchantReseal(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	env, w := merchantEnv(t, t.TempDir())
	ids := []string{"2021000000000901", "2021000000000902"}
	for _, id := range ids {
		code, err := w.Gateway.IssueCode(alipaytest.AuthMerchant{AuthAppID: id, UserID: "2088" + id[4:]})
		if err != nil {
			t.Fatal(err)
		}
		if c, _, errOut := run(ctx, env, "merchant", "authorize", "--code", code); c != 0 {
			t.Fatalf("authorize %s: %d %q", id, c, errOut)
		}
	}
	// A merchant sealed with a key the key file never had.
	opt, err := redisurl.Parse(env["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rdb, _ := redisurl.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	lostLine, _ := merchant.GenerateKey()
	lostKeys, err := merchant.NewKeyring(mustBase64(t, lostLine))
	if err != nil {
		t.Fatal(err)
	}
	lost, err := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: lostKeys})
	if err != nil {
		t.Fatal(err)
	}
	const lostID, lostToken = "2021000000000903", "202612BBlosttokenClearText903"
	if _, err := lost.Put(ctx, merchant.Grant{AuthAppID: lostID, AppAuthToken: lostToken}); err != nil {
		t.Fatal(err)
	}

	keyFile := env["MERCHANT_KEY_FILE"]
	if c, _, errOut := run(ctx, env, "merchant", "keygen", "--rotate", keyFile); c != 0 {
		t.Fatalf("rotate: %d %q", c, errOut)
	}
	rotated, err := merchant.LoadKeyring(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	newID := rotated.KeyIDs()[0]

	c, out, errOut := run(ctx, env, "merchant", "reseal", "--json")
	var sum resealSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("reseal --json printed %q: %v", out, err)
	}
	if c != command.ExitFailed || sum.KeyID != newID || sum.Merchants != 3 || sum.Resealed != 2 ||
		len(sum.Failed) != 1 || sum.Failed[0].AuthAppID != lostID || !strings.Contains(errOut, lostID) {
		t.Fatalf("reseal with a record the key file cannot open: %d %+v %q", c, sum, errOut)
	}
	if c, _, errOut := run(ctx, env, "merchant", "remove", lostID); c != 0 {
		t.Fatalf("remove: %d %q", c, errOut)
	}

	// With a progress line after each merchant (a tiny interval).
	var stdout, stderr syncbuf.Buffer
	c = Main(ctx, []string{"merchant", "reseal"}, Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, plainInterval: time.Nanosecond})
	if c != 0 || !strings.Contains(stdout.String(), "2 merchant(s), 0 sealed again with key "+newID) ||
		!strings.Contains(stderr.String(), "reseal: 1/2 merchants") || !strings.Contains(stderr.String(), "may leave") {
		t.Fatalf("reseal again: %d %q %q", c, stdout.String(), stderr.String())
	}

	// The old key leaves the key file: every record still opens.
	onlyNew := filepath.Join(t.TempDir(), "new.keys")
	first := strings.Fields(string(dropComments(mustRead(t, keyFile))))[0]
	if err := os.WriteFile(onlyNew, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	newEnv := maps.Clone(env)
	newEnv["MERCHANT_KEY_FILE"] = onlyNew
	newKeys, err := merchant.LoadKeyring(onlyNew)
	if err != nil {
		t.Fatal(err)
	}
	st, err := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: newKeys})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := st.Token(ctx, id); err != nil {
			t.Errorf("%s with the new key alone: %v", id, err)
		}
	}
	if c, out, errOut := run(ctx, newEnv, "merchant", "refresh", ids[0]); c != 0 || !strings.Contains(out, "active") {
		t.Errorf("refresh with the new key alone: %d %q %q", c, out, errOut)
	}
	if c, out, errOut := run(ctx, newEnv, "merchant", "reseal"); c != 0 || !strings.Contains(out, "0 failed") {
		t.Errorf("reseal with the new key alone: %d %q %q", c, out, errOut)
	}

	// A wrong key file opens none of the records: a configuration error.
	wrong := filepath.Join(t.TempDir(), "wrong.keys")
	if c, _, errOut := run(ctx, nil, "merchant", "keygen", wrong); c != 0 {
		t.Fatal(errOut)
	}
	wrongEnv := maps.Clone(env)
	wrongEnv["MERCHANT_KEY_FILE"] = wrong
	if c, _, errOut := run(ctx, wrongEnv, "merchant", "reseal"); c != command.ExitUsage || !strings.Contains(errOut, "opens none") {
		t.Errorf("reseal with a wrong key file: %d %q", c, errOut)
	}

	var secrets []string
	for _, id := range ids {
		m, _ := w.Gateway.Merchant(id)
		secrets = append(secrets, m.Secrets...)
	}
	if len(secrets) < 4 {
		t.Fatalf("the emulator issued %d secrets", len(secrets))
	}
	redisHasNone(t, rdb, append(secrets, lostToken)...)
}

// A reseal with Redis away exits 3.
func TestMerchantResealRedisDown(t *testing.T) {
	t.Parallel()
	env, _ := merchantEnv(t, t.TempDir())
	srv := testproc.StartRedis(t)
	srv.Kill()
	env["REDIS_URL"] = srv.URL()
	if c, _, errOut := run(t.Context(), env, "merchant", "reseal"); c != command.ExitUnavailable {
		t.Errorf("reseal with Redis away: %d %q", c, errOut)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// redisHasNone reads every key and value in Redis and fails if one of
// secrets is in it, in clear or in standard base64.
func redisHasNone(t *testing.T, rdb redis.UniversalClient, secrets ...string) {
	t.Helper()
	ctx := t.Context()
	var dump strings.Builder
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys in Redis: %d, %v", len(keys), err)
	}
	for _, key := range keys {
		var vals []string
		switch typ := rdb.Type(ctx, key).Val(); typ {
		case "string":
			vals = []string{rdb.Get(ctx, key).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				vals = append(vals, f, v)
			}
		case "set":
			vals = rdb.SMembers(ctx, key).Val()
		case "list":
			vals = rdb.LRange(ctx, key, 0, -1).Val()
		case "zset":
			vals = rdb.ZRange(ctx, key, 0, -1).Val()
		default:
			t.Fatalf("key %s of unexpected type %s", key, typ)
		}
		dump.WriteString(key + "\n" + strings.Join(vals, "\n") + "\n")
	}
	for _, s := range secrets {
		if strings.Contains(dump.String(), s) || strings.Contains(dump.String(), base64.StdEncoding.EncodeToString([]byte(s))) {
			t.Errorf("a token is in Redis in clear")
		}
	}
}

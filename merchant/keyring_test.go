package merchant_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key, err := merchant.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k := keyringOf(t, key)
	secret := []byte("202601BBsecrettokenE36")
	a, _ := k.Seal(secret, []byte("merchant A"))
	b, _ := k.Seal(secret, []byte("merchant A"))
	if a == b {
		t.Error("two seals of the same value are equal: nonce not random")
	}
	if strings.Contains(a, string(secret)) || strings.Contains(a, base64.StdEncoding.EncodeToString(secret)) {
		t.Error("sealed value shows the secret")
	}
	if got, err := k.Open(a, []byte("merchant A")); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(a, []byte("merchant B")); !errors.Is(err, merchant.ErrKey) {
		t.Errorf("opened with another record's associated data: %v", err)
	}
	tampered := a[:len(a)-2] + "AA"
	if _, err := k.Open(tampered, []byte("merchant A")); !errors.Is(err, merchant.ErrKey) {
		t.Errorf("opened a tampered value: %v", err)
	}
}

func TestLoadKeyringRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, _ := merchant.GenerateKey()
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for name, content := range map[string]string{
		"empty":     "# nothing\n\n",
		"not b64":   "not base64 at all\n",
		"short key": short + "\n",
		"twice":     key + "\n" + key + "\n",
	} {
		path := dir + "/" + strings.ReplaceAll(name, " ", "_")
		writeFile(t, path, content)
		_, err := merchant.LoadKeyring(path)
		if !errors.Is(err, merchant.ErrKey) {
			t.Errorf("%s: %v, want ErrKey", name, err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: the error shows the key", name)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := merchant.LoadKeyring(dir); !errors.Is(err, merchant.ErrKey) {
		t.Errorf("a directory: %v", err)
	}
	if _, err := merchant.LoadKeyring(dir + "/missing"); !errors.Is(err, merchant.ErrKey) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

// Rotation: a new key first, the old one second: old records open, new
// writes use the new key, Reseal re-seals the old records, after which the
// old key can go; a key file without the old key says so.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.Classic, alipaytest.AuthConfig{})
	ctx := context.Background()
	before := b.authorize(t, shopA)

	newKey, _ := merchant.GenerateKey()
	oldLine := b.keyLine
	rotated := keyringOf(t, newKey, oldLine)
	s := b.newStore(t, func(c *merchant.Config) { c.Keyring = rotated })
	if tok, err := s.Token(ctx, shopA.AuthAppID); err != nil || tok != before {
		t.Fatalf("rotated key file, old record: %v", err)
	}
	if _, err := s.Authorize(ctx, issue(t, b.srv, shopB)); err != nil { // sealed with the new key
		t.Fatal(err)
	}
	if c, err := s.Reseal(ctx, nil); err != nil || c != (merchant.ResealCounts{Merchants: 2, Rewritten: 1}) {
		t.Fatalf("Reseal = %+v, %v; want 1 of 2 merchants rewritten", c, err)
	}
	if c, err := s.Reseal(ctx, nil); err != nil || c != (merchant.ResealCounts{Merchants: 2}) {
		t.Errorf("second Reseal = %+v, %v; want none rewritten", c, err)
	}
	for _, f := range []string{"app_auth_token", "app_refresh_token"} {
		sealed := b.rdb.HGet(ctx, "alipay-media-worker:merchant:"+shopA.AuthAppID, f).Val()
		if !strings.HasPrefix(sealed, rotated.KeyIDs()[0]+":") {
			t.Errorf("after Reseal %s is sealed with %q, want the new key %s", f, sealed[:8], rotated.KeyIDs()[0])
		}
	}
	onlyNew := b.newStore(t, func(c *merchant.Config) { c.Keyring = keyringOf(t, newKey) })
	for _, id := range []string{shopA.AuthAppID, shopB.AuthAppID} {
		if tok, err := onlyNew.Token(ctx, id); err != nil || (id == shopA.AuthAppID && tok != before) {
			t.Errorf("%s: new key alone after Reseal: %v", id, err)
		}
	}

	// A wrong key file: ErrKey, saying which key is missing and what to do.
	other, _ := merchant.GenerateKey()
	wrong := b.newStore(t, func(c *merchant.Config) { c.Keyring = keyringOf(t, other) })
	_, err := wrong.Token(ctx, shopA.AuthAppID)
	if !errors.Is(err, merchant.ErrKey) || !strings.Contains(err.Error(), "key file") {
		t.Fatalf("wrong key file: %v", err)
	}
	t.Log(err)
	// Nothing was lost: the right key still opens it.
	if _, err := s.Token(ctx, shopA.AuthAppID); err != nil {
		t.Errorf("after the wrong key file: %v", err)
	}
}

// A record Reseal cannot open (sealed with a key the file lacks) is
// reported and counted as failed; the merchants after it are still sealed
// again, and each is reported in order with the progress so far.
func TestResealGoesOn(t *testing.T) {
	t.Parallel()
	b := setup(t, upload.Classic, alipaytest.AuthConfig{})
	ctx := context.Background()
	lostKey, _ := merchant.GenerateKey()
	lost := b.newStore(t, func(c *merchant.Config) { c.Keyring = keyringOf(t, lostKey) })
	if _, err := lost.Authorize(ctx, issue(t, b.srv, shopA)); err != nil {
		t.Fatal(err)
	}
	b.authorize(t, shopB)
	newKey, _ := merchant.GenerateKey()
	s := b.newStore(t, func(c *merchant.Config) { c.Keyring = keyringOf(t, newKey, b.keyLine) })
	var seen []merchant.Resealed
	c, err := s.Reseal(ctx, func(r merchant.Resealed) { seen = append(seen, r) })
	if err != nil || c != (merchant.ResealCounts{Merchants: 2, Rewritten: 1, Failed: 1}) {
		t.Fatalf("Reseal = %+v, %v; want 1 rewritten and 1 failed of 2", c, err)
	}
	if len(seen) != 2 || seen[0].AuthAppID != shopA.AuthAppID || !errors.Is(seen[0].Err, merchant.ErrKey) || seen[0].Done != 1 || seen[0].Total != 2 ||
		seen[1].AuthAppID != shopB.AuthAppID || seen[1].Err != nil || !seen[1].Rewritten || seen[1].Done != 2 {
		t.Fatalf("reported %+v", seen)
	}
	t.Log(seen[0].Err)
	if _, err := b.newStore(t, func(c *merchant.Config) { c.Keyring = keyringOf(t, newKey) }).Token(ctx, shopB.AuthAppID); err != nil {
		t.Errorf("the merchant after the failed one was not sealed again: %v", err)
	}
}

// dumpHasNoSecret reads every key and value in Redis and fails if any of
// secrets appears in it, in clear or in standard base64.
func dumpHasNoSecret(t *testing.T, rdb *redis.Client, secrets ...string) {
	t.Helper()
	ctx := context.Background()
	var dump strings.Builder
	for _, key := range rdb.Keys(ctx, "*").Val() {
		dump.WriteString(key + "\n")
		switch rdb.Type(ctx, key).Val() {
		case "string":
			dump.WriteString(rdb.Get(ctx, key).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, key).Val() {
				dump.WriteString(f + "=" + v + "\n")
			}
		case "set":
			dump.WriteString(strings.Join(rdb.SMembers(ctx, key).Val(), "\n"))
		default:
			t.Fatalf("key %s of unexpected type %s", key, rdb.Type(ctx, key).Val())
		}
		dump.WriteString("\n")
	}
	if dump.Len() == 0 {
		t.Fatal("nothing in Redis to check")
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(dump.String(), s) || strings.Contains(dump.String(), base64.StdEncoding.EncodeToString([]byte(s))) {
			t.Errorf("a secret is in Redis in clear")
		}
	}
}

// After authorizations, refreshes, renewals and a revocation, no token or
// refresh token the emulator ever issued is in Redis in clear.
func TestNoSecretInRedis(t *testing.T) {
	t.Parallel()
	protocols(t, func(t *testing.T, proto upload.Protocol) {
		b := setup(t, proto, alipaytest.AuthConfig{})
		var logs syncbuf.Buffer
		b.store = b.newStore(t, func(c *merchant.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		ctx := context.Background()
		if _, err := b.store.Authorize(ctx, issue(t, b.srv, shopA, shopB)); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := b.store.Refresh(ctx, shopA.AuthAppID); err != nil {
				t.Fatal(err)
			}
		}
		tok, _ := b.store.Token(ctx, shopB.AuthAppID)
		if _, err := b.store.Renew(ctx, shopB.AuthAppID, tok); err != nil {
			t.Fatal(err)
		}
		b.srv.Revoke(shopB.AuthAppID)
		tok, _ = b.store.Token(ctx, shopB.AuthAppID)
		if _, err := b.store.Renew(ctx, shopB.AuthAppID, tok); !errors.Is(err, merchant.ErrUnauthorized) {
			t.Fatal(err)
		}
		var secrets []string
		for _, m := range b.srv.Merchants() {
			secrets = append(secrets, m.Secrets...)
		}
		if len(secrets) != 2*(2+3+1) {
			t.Fatalf("the emulator issued %d secrets, want 12", len(secrets))
		}
		dumpHasNoSecret(t, b.rdb, secrets...)
		if !strings.Contains(logs.String(), "merchant must authorize the app again") {
			t.Error("the refused refresh was not logged")
		}
		for _, s := range secrets {
			if strings.Contains(logs.String(), s) {
				t.Error("the store logged a token or refresh token")
			}
		}
	})
}

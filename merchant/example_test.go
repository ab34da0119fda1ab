package merchant_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/redis/go-redis/v9"

	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

// A key file holds one key a line; the first seals, all open.
func ExampleLoadKeyring() {
	key, err := merchant.GenerateKey()
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "merchant-keys")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "merchant.keys")
	if err := os.WriteFile(path, []byte("# newest key first\n"+key+"\n"), 0o600); err != nil {
		panic(err)
	}
	keys, err := merchant.LoadKeyring(path)
	if err != nil {
		panic(err)
	}
	sealed, _ := keys.Seal([]byte("a token"), []byte("its record"))
	plain, err := keys.Open(sealed, []byte("its record"))
	fmt.Println(string(plain), err)
	_, err = keys.Open(sealed, []byte("another record"))
	fmt.Println(errors.Is(err, merchant.ErrKey))
	// Output:
	// a token <nil>
	// true
}

// An ISV exchanges a merchant's app_auth_code once; uploads then ask for
// the current token, and renew it when Alipay refuses it.
func ExampleStore() {
	srv, err := alipaytest.NewServer(alipaytest.Config{}.WithTestKeys())
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := upload.New(upload.Config{
		Protocol: upload.V3, GatewayURL: srv.URL, AppID: alipaytest.TestAppID,
		Signer: sign.RSA2{Key: alipaytest.TestKeys().App}, AlipayPublicKey: srv.PublicKey(),
	})
	if err != nil {
		panic(err)
	}
	opt, _ := redis.ParseURL(exampleRedisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	key, _ := merchant.GenerateKey()
	raw, _ := decodeKey(key)
	keys, _ := merchant.NewKeyring(raw)
	store, err := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: keys, Client: client})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// The merchant authorized the app; Alipay sent the ISV a code.
	code, _ := srv.IssueCode(alipaytest.AuthMerchant{AuthAppID: "2021004100000009", UserID: "2088000000000009"})
	ms, err := store.Authorize(ctx, code)
	if err != nil {
		panic(err)
	}
	fmt.Println(ms[0].AuthAppID, ms[0].Status)

	tok, _ := store.Token(ctx, "2021004100000009")
	// ... an upload with tok answers 20001: renew it, and retry once.
	srv.ExpireToken("2021004100000009")
	fresh, err := store.Renew(ctx, "2021004100000009", tok)
	fmt.Println(fresh != tok, err)

	// A merchant that never authorized the app:
	_, err = store.Token(ctx, "2021004100000010")
	fmt.Println(errors.Is(err, merchant.ErrNotFound))
	_ = store.Remove(ctx, "2021004100000009")
	// Output:
	// 2021004100000009 active
	// true <nil>
	// true
}

func decodeKey(line string) ([]byte, error) { return base64.StdEncoding.DecodeString(line) }

// A key rotation: a new key first in the key file, the old one after it;
// Reseal seals every record again with the new key, after which the old
// key can leave the file.
func ExampleStore_Reseal() {
	opt, _ := redis.ParseURL(exampleRedisURL)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	oldRaw, _ := decodeKey(must(merchant.GenerateKey()))
	newRaw, _ := decodeKey(must(merchant.GenerateKey()))
	oldKeys, _ := merchant.NewKeyring(oldRaw)
	before, _ := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: oldKeys})
	if _, err := before.Put(ctx, merchant.Grant{AuthAppID: "2021004100000011", AppAuthToken: "a token"}); err != nil {
		panic(err)
	}

	rotated, _ := merchant.NewKeyring(newRaw, oldRaw)
	store, _ := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: rotated})
	counts, err := store.Reseal(ctx, func(r merchant.Resealed) {
		fmt.Println(r.AuthAppID, r.Rewritten, r.Err, r.Done, "of", r.Total)
	})
	fmt.Printf("%+v %v\n", counts, err)

	newOnly, _ := merchant.NewKeyring(newRaw)
	after, _ := merchant.NewStore(merchant.Config{Redis: rdb, Keyring: newOnly})
	tok, err := after.Token(ctx, "2021004100000011")
	fmt.Println(tok, err)
	_ = after.Remove(ctx, "2021004100000011")
	// Output:
	// 2021004100000011 true <nil> 1 of 1
	// {Merchants:1 Rewritten:1 Failed:0} <nil>
	// a token <nil>
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

package alipaytest_test

import (
	"errors"
	"os"
	"testing"

	"github.com/storemedia/alipay-media-worker/sign"
	"github.com/storemedia/alipay-media-worker/upload/alipaytest"
)

func TestKeyFiles(t *testing.T) {
	t.Parallel()
	keys := alipaytest.TestKeys()
	files, err := keys.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	app, err := sign.LoadPrivateKeyFile(files.AppPrivateKey)
	if err != nil || !app.Equal(keys.App) {
		t.Errorf("app private key: %v", err)
	}
	gw, err := sign.LoadPrivateKeyFile(files.GatewayPrivateKey)
	if err != nil || !gw.Equal(keys.Gateway) {
		t.Errorf("gateway private key: %v", err)
	}
	for path, want := range map[string]any{files.AppPublicKey: &keys.App.PublicKey, files.GatewayPublicKey: &keys.Gateway.PublicKey} {
		k, err := sign.LoadPublicKeyFile(path)
		if err != nil || !k.Equal(want) {
			t.Errorf("%s: %v", path, err)
		}
	}
	fi, err := os.Stat(files.AppPrivateKey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("app private key mode %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestCertFiles(t *testing.T) {
	t.Parallel()
	certs := alipaytest.TestCerts()
	files, err := certs.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if sn, err := sign.CertFileSN(files.AppCert); err != nil || sn != certs.AppCertSN {
		t.Errorf("app cert SN %q (%v), want %q", sn, err, certs.AppCertSN)
	}
	if sn, err := sign.CertFileSN(files.AlipayCert); err != nil || sn != certs.AlipayCertSN {
		t.Errorf("alipay cert SN %q (%v), want %q", sn, err, certs.AlipayCertSN)
	}
	sn, err := sign.RootCertFileSN(files.RootCert)
	if err != nil || sn != certs.RootCertSN {
		t.Errorf("root SN %q (%v), want %q", sn, err, certs.RootCertSN)
	}
	all, err := sign.ParseCertificates(certs.RootBundlePEM)
	if err != nil || len(all) != 2 {
		t.Fatalf("root bundle: %d certificates (%v), want 2", len(all), err)
	}
	if sn != sign.CertSN(all[0]) {
		t.Errorf("root SN %q: want only the RSA root's SN, the ECDSA root skipped", sn)
	}
	// The Alipay certificate carries the gateway key and is issued by the root.
	if k, err := sign.LoadPublicKeyFile(files.AlipayCert); err != nil || !k.Equal(&alipaytest.TestKeys().Gateway.PublicKey) {
		t.Errorf("alipay cert key: %v", err)
	}
	if err := certs.Alipay.CheckSignatureFrom(certs.Root); err != nil {
		t.Errorf("alipay cert not issued by the root: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	pub := &alipaytest.TestKeys().App.PublicKey
	for name, cfg := range map[string]alipaytest.Config{
		"no app id":          {AppPublicKey: pub},
		"no app key":         {AppID: "1"},
		"negative size":      {AppID: "1", AppPublicKey: pub, MaxFileSize: -1},
		"negative skew":      {AppID: "1", AppPublicKey: pub, MaxSkew: -1},
		"half cert mode":     {AppID: "1", AppPublicKey: pub, AppCertSN: "a"},
		"root without app":   {AppID: "1", AppPublicKey: pub, RootCertSN: "a"},
		"upper-case type":    {AppID: "1", AppPublicKey: pub, AllowedTypes: []string{"JPG"}},
		"type longer than 8": {AppID: "1", AppPublicKey: pub, AllowedTypes: []string{"jpgjpgjpg"}},
	} {
		if _, err := alipaytest.New(cfg); !errors.Is(err, alipaytest.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	g, err := alipaytest.New(alipaytest.Config{AppID: "1", AppPublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if g.PublicKey() == nil || g.PublicKey().N.BitLen() != alipaytest.KeyBits {
		t.Error("no generated gateway key")
	}
}

func TestConfigWithTestKeys(t *testing.T) {
	t.Parallel()
	keys := alipaytest.TestKeys()
	c := alipaytest.Config{MaxRecords: 7}.WithTestKeys()
	if c.AppID != alipaytest.TestAppID || !c.AppPublicKey.Equal(&keys.App.PublicKey) || !c.GatewayKey.Equal(keys.Gateway) || c.MaxRecords != 7 {
		t.Errorf("zero fields not filled, or others changed: %+v", c)
	}
	set := alipaytest.Config{AppID: "2021000000000042", AppPublicKey: &keys.Gateway.PublicKey, GatewayKey: keys.App}
	if c := set.WithTestKeys(); c.AppID != set.AppID || c.AppPublicKey != set.AppPublicKey || c.GatewayKey != set.GatewayKey {
		t.Errorf("set fields replaced: %+v", c)
	}
}

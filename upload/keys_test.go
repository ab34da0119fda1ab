package upload

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type keyFiles struct {
	appKeyPKCS8Base64 string // bare Base64 PKCS#8, as Alipay's key tool writes it
	alipayPubBase64   string // bare Base64 SubjectPublicKeyInfo
}

func writeKeyFiles(t *testing.T, dir string, app, alipay *rsa.PrivateKey) keyFiles {
	t.Helper()
	p8, err := x509.MarshalPKCS8PrivateKey(app)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&alipay.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f := keyFiles{
		appKeyPKCS8Base64: filepath.Join(dir, "app_private_key.txt"),
		alipayPubBase64:   filepath.Join(dir, "alipay_public_key.txt"),
	}
	write(t, f.appKeyPKCS8Base64, []byte(base64.StdEncoding.EncodeToString(p8)+"\n"))
	write(t, f.alipayPubBase64, []byte(base64.StdEncoding.EncodeToString(spki)))
	return f
}

type certFiles struct {
	appKey, appCert, alipayCert, root string
	appSN, alipaySN, rootSN           string
}

// writeCertFiles writes a certificate-mode set: a root CA bundle (an RSA
// root and an ECDSA one, which alipay_root_cert_sn must leave out), and the
// app's and Alipay's certificates issued by the RSA root.
func writeCertFiles(t *testing.T, dir string, app, alipay *rsa.PrivateKey) certFiles {
	t.Helper()
	_, _, caKey := keys(t)
	rootName := pkix.Name{Country: []string{"CN"}, Organization: []string{"Store Media"}, CommonName: "Test Root"}
	root := &x509.Certificate{
		SerialNumber: big.NewInt(123456789), Subject: rootName,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ = x509.ParseCertificate(rootDER)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecRoot := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "EC Root"},
		NotBefore: root.NotBefore, NotAfter: root.NotAfter, IsCA: true, BasicConstraintsValid: true,
	}
	ecDER, err := x509.CreateCertificate(rand.Reader, ecRoot, ecRoot, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, cn string, pub *rsa.PublicKey) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: root.NotBefore, NotAfter: root.NotAfter,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root, pub, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	pemOf := func(ders ...[]byte) []byte {
		var out []byte
		for _, d := range ders {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
		}
		return out
	}
	f := certFiles{
		appKey:     filepath.Join(dir, "app_private_key.pem"),
		appCert:    filepath.Join(dir, "appCertPublicKey_"+testAppID+".crt"),
		alipayCert: filepath.Join(dir, "alipayCertPublicKey_RSA2.crt"),
		root:       filepath.Join(dir, "alipayRootCert.crt"),
	}
	write(t, f.appKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(app)}))
	write(t, f.appCert, pemOf(leaf(1001, "app", &app.PublicKey)))
	write(t, f.alipayCert, pemOf(leaf(1002, "alipay", &alipay.PublicKey)))
	write(t, f.root, pemOf(ecDER, rootDER))
	// Issuer "CN=Test Root,O=Store Media,C=CN" (RFC 2253 order) followed by
	// the serial: md5 computed outside Go, for both leaves and the root.
	f.appSN = md5hex("CN=Test Root,O=Store Media,C=CN1001")
	f.alipaySN = md5hex("CN=Test Root,O=Store Media,C=CN1002")
	f.rootSN = "1bbe3e15d2d5c785a4faa985db971a60"
	if got := md5hex("CN=Test Root,O=Store Media,C=CN123456789"); got != f.rootSN {
		t.Fatalf("md5 helper: %s", got)
	}
	return f
}

// md5hex restates the definition of a certificate SN, apart from
// sign.CertSN on purpose.
func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

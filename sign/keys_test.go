package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wrap64 breaks Base64 text into lines, as PEM bodies and some key tools
// do.
func wrap64(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	pkcs1 := x509.MarshalPKCS1PrivateKey(key)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"PKCS#1 PEM":                 pemOf("RSA PRIVATE KEY", pkcs1),
		"PKCS#8 PEM":                 pemOf("PRIVATE KEY", pkcs8),
		"PKCS#1 Base64":              []byte(base64.StdEncoding.EncodeToString(pkcs1)),
		"PKCS#8 Base64":              []byte(base64.StdEncoding.EncodeToString(pkcs8)),
		"PKCS#8 Base64, wrapped":     []byte(wrap64(pkcs8)),
		"PKCS#8 Base64, CRLF, space": []byte("  " + strings.ReplaceAll(wrap64(pkcs8), "\n", "\r\n") + "\t"),
		"PEM with surrounding space": append([]byte("\n\n"), pemOf("PRIVATE KEY", pkcs8)...),
	} {
		got, err := ParsePrivateKey(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equal(key) {
			t.Errorf("%s: parsed a different key", name)
		}
	}
}

func TestParsePrivateKeyRejects(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(key)
	for name, data := range map[string][]byte{
		"empty":             nil,
		"blank":             []byte(" \n "),
		"not Base64":        []byte("this is not a key!"),
		"Base64 of garbage": []byte(base64.StdEncoding.EncodeToString([]byte("garbage"))),
		"broken PEM":        []byte("-----BEGIN PRIVATE KEY-----\nMIIE\n"),
		"public key PEM":    pemOf("PUBLIC KEY", spki),
		"public key Base64": []byte(base64.StdEncoding.EncodeToString(spki)),
		"ECDSA PKCS#8":      pemOf("PRIVATE KEY", ecDER),
		"truncated PKCS#1":  []byte(base64.StdEncoding.EncodeToString(pkcs1[:len(pkcs1)/2])),
	} {
		_, err := ParsePrivateKey(data)
		if !errors.Is(err, ErrKeyFormat) {
			t.Errorf("%s: err = %v, want ErrKeyFormat", name, err)
			continue
		}
		// No key material in the message.
		if strings.Contains(err.Error(), "MII") || len(err.Error()) > 120 {
			t.Errorf("%s: error text %q may carry key material", name, err)
		}
	}
}

// testCA issues certificates for the tests: an RSA root named
// "CN=Test Root,O=Store\, Media Ltd,C=CN" (RFC 2253 form, with an escaped
// comma) and serial 1.
type testCA struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	der  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key := testKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Country: []string{"CN"}, Organization: []string{"Store, Media Ltd"}, CommonName: "Test Root"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{key: key, cert: cert, der: der}
}

// issue returns the DER of a certificate for pub with the given serial.
func (ca *testCA) issue(t *testing.T, serial *big.Int, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// selfSigned returns an ECDSA-signed root, which alipay_root_cert_sn skips.
func selfSignedEC(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "EC Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	ca := newTestCA(t)
	other, err := LoadPrivateKeyFile("testdata/other_rsa_private_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := ca.issue(t, big.NewInt(99), &other.PublicKey)
	for name, data := range map[string][]byte{
		"SPKI PEM":               pemOf("PUBLIC KEY", spki),
		"SPKI Base64":            []byte(base64.StdEncoding.EncodeToString(spki)),
		"SPKI Base64, wrapped":   []byte(wrap64(spki)),
		"PKCS#1 public PEM":      pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&other.PublicKey)),
		"certificate PEM":        pemOf("CERTIFICATE", leaf),
		"certificate DER Base64": []byte(base64.StdEncoding.EncodeToString(leaf)),
	} {
		got, err := ParsePublicKey(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equal(&other.PublicKey) {
			t.Errorf("%s: parsed a different key", name)
		}
		if got.Equal(&key.PublicKey) {
			t.Errorf("%s: parsed the CA's key", name)
		}
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecSPKI, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	for name, data := range map[string][]byte{
		"ECDSA SPKI":        pemOf("PUBLIC KEY", ecSPKI),
		"ECDSA certificate": pemOf("CERTIFICATE", selfSignedEC(t)),
		"private key PEM":   pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)),
		"garbage":           []byte("nope"),
		"broken cert PEM":   pemOf("CERTIFICATE", []byte("not DER")),
	} {
		if _, err := ParsePublicKey(data); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("%s: err = %v, want ErrKeyFormat", name, err)
		}
	}
}

func TestLoadKeyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := testKey(t)
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(dir, "alipay_public_key.txt")
	if err := os.WriteFile(pubFile, []byte(base64.StdEncoding.EncodeToString(spki)), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKeyFile(pubFile)
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Errorf("LoadPublicKeyFile: %v", err)
	}
	missing := filepath.Join(dir, "missing.pem")
	if _, err := LoadPrivateKeyFile(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing private key file: %v", err)
	}
	if _, err := LoadPublicKeyFile(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing public key file: %v", err)
	}
	// A public key given as the private key: the error names the file and
	// wraps ErrKeyFormat.
	_, err = LoadPrivateKeyFile(pubFile)
	if !errors.Is(err, ErrKeyFormat) || !strings.Contains(err.Error(), pubFile) {
		t.Errorf("wrong kind of key file: %v", err)
	}
}

// CertSN against values computed outside Go (md5sum over the RFC 2253
// issuer name followed by the decimal serial).
func TestCertSN(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	// The root is its own issuer: "CN=Test Root,O=Store\, Media Ltd,C=CN" + "1".
	if got, want := CertSN(ca.cert), "0e7f6b2306dc974e827fba3dab09f6f2"; got != want {
		t.Errorf("CertSN(root) = %s, want %s (issuer %q)", got, want, ca.cert.Issuer.ToRDNSequence().String())
	}

	// A leaf issued by a CA named like Alipay's, with a long serial.
	antName := pkix.Name{
		Country: []string{"CN"}, Organization: []string{"Ant Financial"},
		OrganizationalUnit: []string{"Certification Authority"},
		CommonName:         "Ant Financial Certification Authority Class 2 R1",
	}
	antTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(5), Subject: antName, IsCA: true, BasicConstraintsValid: true,
		NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter, KeyUsage: x509.KeyUsageCertSign,
	}
	antDER, err := x509.CreateCertificate(rand.Reader, antTmpl, antTmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	ant, _ := x509.ParseCertificate(antDER)
	serial, _ := new(big.Int).SetString("4061190411519476834787813375891425601", 10)
	leafDER := (&testCA{key: ca.key, cert: ant}).issue(t, serial, &ca.key.PublicKey)
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := CertSN(leaf), "0b0fa7fa72713182cf075f32961e9a9c"; got != want {
		t.Errorf("CertSN(leaf) = %s, want %s", got, want)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "appCertPublicKey.crt")
	if err := os.WriteFile(file, pemOf("CERTIFICATE", leafDER), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := CertFileSN(file); err != nil || got != "0b0fa7fa72713182cf075f32961e9a9c" {
		t.Errorf("CertFileSN = %q, %v", got, err)
	}
	if _, err := CertFileSN(filepath.Join(dir, "missing.crt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing certificate file: %v", err)
	}
}

func TestRootCertSN(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	second := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Second Root"},
		NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter, IsCA: true, BasicConstraintsValid: true,
	}
	secondDER, err := x509.CreateCertificate(rand.Reader, second, second, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	const rootSN, secondSN = "0e7f6b2306dc974e827fba3dab09f6f2", "e6b14bbe602bd3a3513f63cd8042185a"

	// Like Alipay's bundle: an ECDSA root among RSA ones, and something
	// that is not a certificate, both left out; order is kept.
	bundle := append(pemOf("CERTIFICATE", ca.der), pemOf("CERTIFICATE", selfSignedEC(t))...)
	bundle = append(bundle, pemOf("COMMENT", []byte("not a certificate"))...)
	bundle = append(bundle, pemOf("CERTIFICATE", secondDER)...)
	got, err := RootCertSN(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if want := rootSN + "_" + secondSN; got != want {
		t.Errorf("RootCertSN = %s, want %s", got, want)
	}
	certs, err := ParseCertificates(bundle)
	if err != nil || len(certs) != 3 {
		t.Errorf("ParseCertificates: %d certificates, %v", len(certs), err)
	}

	// One DER certificate on its own.
	if got, err := RootCertSN(ca.der); err != nil || got != rootSN {
		t.Errorf("RootCertSN(DER) = %q, %v", got, err)
	}
	// No RSA-signed certificate at all.
	if _, err := RootCertSN(pemOf("CERTIFICATE", selfSignedEC(t))); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("EC-only bundle: %v", err)
	}
	if _, err := RootCertSN([]byte("garbage")); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("garbage bundle: %v", err)
	}
	if _, err := ParseCertificates(pemOf("CERTIFICATE", []byte("bad"))); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("broken certificate in bundle: %v", err)
	}

	// Alipay's real bundle also holds an SM2 root, which crypto/x509 cannot
	// parse; it is left out like the ECDSA one.
	sm2 := sm2Root(t)
	withSM2 := append(append(pemOf("CERTIFICATE", ca.der), sm2...), pemOf("CERTIFICATE", secondDER)...)
	if got, err := RootCertSN(withSM2); err != nil || got != rootSN+"_"+secondSN {
		t.Errorf("RootCertSN(RSA, SM2, RSA) = %q, %v; want %s", got, err, rootSN+"_"+secondSN)
	}
	block, _ := pem.Decode(sm2)
	if got, err := RootCertSN(block.Bytes); !errors.Is(err, ErrKeyFormat) || !strings.Contains(err.Error(), "no RSA-signed") {
		t.Errorf("SM2-only DER bundle: %q, %v", got, err)
	}
	// The application certificate must parse: ParseCertificates stays strict.
	if _, err := ParseCertificates(withSM2); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("ParseCertificates with an SM2 certificate: %v", err)
	}
	// An RSA-signed certificate that does not parse is still an error, and
	// so is one whose signature algorithm cannot be read at all.
	for name, bad := range map[string][]byte{
		"broken RSA certificate": brokenRSACert(t),
		"not DER":                []byte("bad"),
	} {
		b := append(pemOf("CERTIFICATE", ca.der), pemOf("CERTIFICATE", bad)...)
		if got, err := RootCertSN(b); !errors.Is(err, ErrKeyFormat) || !strings.Contains(err.Error(), "certificate 2") {
			t.Errorf("%s in bundle: %q, %v", name, got, err)
		}
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "alipayRootCert.crt")
	if err := os.WriteFile(file, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := RootCertFileSN(file); err != nil || got != rootSN+"_"+secondSN {
		t.Errorf("RootCertFileSN = %q, %v", got, err)
	}
	if _, err := RootCertFileSN(filepath.Join(dir, "missing.crt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing root file: %v", err)
	}
}

// sm2Root returns testdata/sm2_root_cert.pem, an SM2-with-SM3 root made with
// OpenSSL (see testdata/README.md).
func sm2Root(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/sm2_root_cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("testdata/sm2_root_cert.pem: no certificate")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err == nil {
		t.Log("crypto/x509 now parses SM2 certificates; the skip-unparsable path is not exercised")
	}
	if oid, err := signatureOID(block.Bytes); err != nil || !oid.Equal(asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}) {
		t.Fatalf("SM2 root signature algorithm %v, %v; want SM2-with-SM3", oid, err)
	}
	return data
}

// brokenRSACert returns a certificate whose outer signature algorithm is
// sha256WithRSAEncryption but whose tbsCertificate is not one.
func brokenRSACert(t *testing.T) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		TBSCertificate     asn1.RawValue
		SignatureAlgorithm pkix.AlgorithmIdentifier
		SignatureValue     asn1.BitString
	}{
		TBSCertificate: asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: []byte{0x02, 0x01, 0x01}},
		SignatureAlgorithm: pkix.AlgorithmIdentifier{
			Algorithm:  asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11},
			Parameters: asn1.NullRawValue,
		},
		SignatureValue: asn1.BitString{Bytes: []byte{1, 2, 3}, BitLength: 24},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		t.Fatal("broken RSA certificate parsed")
	}
	return der
}

package alipaytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"time"

	"github.com/storemedia/alipay-media-worker/sign"
)

// Certs is a certificate set for certificate mode: a root CA, the app certificate (holding the app public key) and the
// "Alipay" certificate (holding the gateway public key), both issued by the
// root. Like Alipay's real root bundle, RootBundlePEM also holds a second,
// ECDSA-signed root that alipay_root_cert_sn must skip.
type Certs struct {
	Root, App, Alipay *x509.Certificate

	// RootBundlePEM is alipayRootCert.crt: the RSA root, then an ECDSA root.
	RootBundlePEM []byte
	// AppCertPEM is appCertPublicKey.crt.
	AppCertPEM []byte
	// AlipayCertPEM is alipayCertPublicKey_RSA2.crt.
	AlipayCertPEM []byte

	// AppCertSN is the app_cert_sn of App.
	AppCertSN string
	// RootCertSN is the alipay_root_cert_sn of RootBundlePEM.
	RootCertSN string
	// AlipayCertSN is the alipay_cert_sn of Alipay.
	AlipayCertSN string
}

// GenerateCerts issues a fresh [Certs] set: a new root CA, an app
// certificate for appKey and an Alipay certificate for gatewayKey.
func GenerateCerts(appKey, gatewayKey *rsa.PublicKey) (*Certs, error) {
	rootKey, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("alipaytest: generate root key: %w", err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("alipaytest: generate ECDSA root key: %w", err)
	}
	now := time.Now().Add(-time.Hour)
	name := func(cn string) pkix.Name {
		return pkix.Name{
			Country:            []string{"CN"},
			Organization:       []string{"alipaytest"},
			OrganizationalUnit: []string{"Certification Authority"},
			CommonName:         cn,
		}
	}
	tmpl := func(cn string, ca bool) (*x509.Certificate, error) {
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
		if err != nil {
			return nil, err
		}
		t := &x509.Certificate{
			SerialNumber: serial.Add(serial, big.NewInt(1)),
			Subject:      name(cn),
			NotBefore:    now,
			NotAfter:     now.AddDate(10, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		if ca {
			t.IsCA, t.BasicConstraintsValid = true, true
			t.KeyUsage |= x509.KeyUsageCertSign
		}
		return t, nil
	}
	issue := func(t, parent *x509.Certificate, pub, priv any) (*x509.Certificate, []byte, error) {
		der, err := x509.CreateCertificate(rand.Reader, t, parent, pub, priv)
		if err != nil {
			return nil, nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, err
		}
		return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
	}

	c := &Certs{}
	var rootPEM, ecPEM []byte
	steps := []func() error{
		func() error {
			t, err := tmpl("alipaytest Root CA R1", true)
			if err == nil {
				c.Root, rootPEM, err = issue(t, t, &rootKey.PublicKey, rootKey)
			}
			return err
		},
		func() error {
			t, err := tmpl("alipaytest Root CA E1", true)
			if err == nil {
				t.SignatureAlgorithm = x509.ECDSAWithSHA256
				_, ecPEM, err = issue(t, t, &ecKey.PublicKey, ecKey)
			}
			return err
		},
		func() error {
			t, err := tmpl("alipaytest app", false)
			if err == nil {
				c.App, c.AppCertPEM, err = issue(t, c.Root, appKey, rootKey)
			}
			return err
		},
		func() error {
			t, err := tmpl("alipaytest gateway", false)
			if err == nil {
				c.Alipay, c.AlipayCertPEM, err = issue(t, c.Root, gatewayKey, rootKey)
			}
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("alipaytest: issue certificate: %w", err)
		}
	}
	c.RootBundlePEM = append(append(rootPEM, '\n'), ecPEM...)
	c.AppCertSN = sign.CertSN(c.App)
	c.AlipayCertSN = sign.CertSN(c.Alipay)
	if c.RootCertSN, err = sign.RootCertSN(c.RootBundlePEM); err != nil {
		return nil, fmt.Errorf("alipaytest: root bundle: %w", err)
	}
	return c, nil
}

var testCerts = sync.OnceValues(func() (*Certs, error) {
	k := TestKeys()
	return GenerateCerts(&k.App.PublicKey, &k.Gateway.PublicKey)
})

// TestCerts returns a [Certs] set for [TestKeys], generated once per
// process. It panics if the certificates cannot be generated.
func TestCerts() *Certs {
	c, err := testCerts()
	if err != nil {
		panic(err)
	}
	return c
}

// Configure switches cfg to certificate mode with c's serial numbers.
func (c *Certs) Configure(cfg *Config) {
	cfg.AppCertSN = c.AppCertSN
	cfg.RootCertSN = c.RootCertSN
	cfg.GatewayCertSN = c.AlipayCertSN
}

// CertFiles names the files written by [Certs.WriteFiles].
type CertFiles struct {
	AppCert    string `json:"app_cert"`
	AlipayCert string `json:"alipay_cert"`
	RootCert   string `json:"root_cert"`
}

// File names used by [Certs.WriteFiles], as Alipay names its downloads.
const (
	AppCertFile    = "appCertPublicKey.crt"
	AlipayCertFile = "alipayCertPublicKey_RSA2.crt"
	RootCertFile   = "alipayRootCert.crt"
)

// WriteFiles writes the three certificate files into dir (created if
// missing) and returns their paths.
func (c *Certs) WriteFiles(dir string) (CertFiles, error) {
	f := CertFiles{
		AppCert:    filepath.Join(dir, AppCertFile),
		AlipayCert: filepath.Join(dir, AlipayCertFile),
		RootCert:   filepath.Join(dir, RootCertFile),
	}
	err := writeFiles(dir, "certificate",
		file{f.AppCert, c.AppCertPEM, 0o644},
		file{f.AlipayCert, c.AlipayCertPEM, 0o644},
		file{f.RootCert, c.RootBundlePEM, 0o644},
	)
	if err != nil {
		return CertFiles{}, err
	}
	return f, nil
}

package upload

import (
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/conffile"
	"github.com/storemedia/alipay-media-worker/sign"
)

// Keys is the key material a [Config] needs, loaded once at start-up by
// [KeysFromFiles] (public key mode) or [CertKeysFromFiles] (certificate
// mode). [Keys.Apply] copies it into a Config.
type Keys struct {
	// Signer signs requests with the application private key (RSA2).
	Signer sign.Signer
	// AlipayPublicKey verifies the gateway's answers.
	AlipayPublicKey *rsa.PublicKey
	// AppCertSN, AlipayRootCertSN and AlipayCertSN are set in
	// certificate mode only.
	AppCertSN        string
	AlipayRootCertSN string
	AlipayCertSN     string
}

// Apply sets cfg's Signer, AlipayPublicKey, AppCertSN, AlipayRootCertSN and
// AlipayCertSN from k.
func (k Keys) Apply(cfg *Config) {
	cfg.Signer = k.Signer
	cfg.AlipayPublicKey = k.AlipayPublicKey
	cfg.AppCertSN = k.AppCertSN
	cfg.AlipayRootCertSN = k.AlipayRootCertSN
	cfg.AlipayCertSN = k.AlipayCertSN
}

// KeysFromFiles loads public key mode keys: the application private key
// (PKCS#1 or PKCS#8, PEM or bare Base64) and Alipay's public key
// (SubjectPublicKeyInfo, PEM or bare Base64; a certificate works too).
// Errors name the files, never their content.
func KeysFromFiles(privateKeyFile, alipayPublicKeyFile string) (Keys, error) {
	priv, err := sign.LoadPrivateKeyFile(privateKeyFile)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	pub, err := sign.LoadPublicKeyFile(alipayPublicKeyFile)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	return Keys{Signer: sign.RSA2{Key: priv}, AlipayPublicKey: pub}, nil
}

// ErrKeyMismatch reports an application certificate whose public key is
// not the one of the application private key.
var ErrKeyMismatch = errors.New("upload: application certificate does not match the private key")

// CertKeysFromFiles loads certificate mode keys: the application private
// key, the application certificate (appCertPublicKey_<appid>.crt, for
// app_cert_sn), Alipay's public key certificate (alipayCertPublicKey_RSA2.crt,
// whose key verifies answers and whose serial number v3 answers name) and
// Alipay's root certificate bundle (alipayRootCert.crt, for
// alipay_root_cert_sn). It checks that the
// application certificate holds the private key's public half.
func CertKeysFromFiles(privateKeyFile, appCertFile, alipayPublicCertFile, rootCertFile string) (Keys, error) {
	priv, err := sign.LoadPrivateKeyFile(privateKeyFile)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	appCert, err := conffile.Read(appCertFile, conffile.MaxSize)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	certs, err := sign.ParseCertificates(appCert)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: application certificate %s: %w", appCertFile, err)
	}
	if k, ok := certs[0].PublicKey.(*rsa.PublicKey); !ok || !k.Equal(&priv.PublicKey) {
		return Keys{}, fmt.Errorf("%w (%s, %s)", ErrKeyMismatch, appCertFile, privateKeyFile)
	}
	pub, err := sign.LoadPublicKeyFile(alipayPublicCertFile)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	alipaySN, err := sign.CertFileSN(alipayPublicCertFile)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	rootSN, err := sign.RootCertFileSN(rootCertFile)
	if err != nil {
		return Keys{}, fmt.Errorf("upload: keys: %w", err)
	}
	return Keys{
		Signer:           sign.RSA2{Key: priv},
		AlipayPublicKey:  pub,
		AppCertSN:        sign.CertSN(certs[0]),
		AlipayRootCertSN: rootSN,
		AlipayCertSN:     alipaySN,
	}, nil
}

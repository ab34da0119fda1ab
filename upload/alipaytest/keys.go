package alipaytest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// KeyBits is the size of the RSA keys this package generates.
const KeyBits = 2048

// Keys is the key pair set of a test setup: the application's key (the
// client signs with it, the gateway verifies with its public half) and the
// gateway's key (the gateway signs responses, the client verifies them).
type Keys struct {
	App     *rsa.PrivateKey
	Gateway *rsa.PrivateKey
}

// GenerateKeys generates a fresh [Keys] set of [KeyBits]-bit RSA keys.
func GenerateKeys() (*Keys, error) {
	app, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("alipaytest: generate app key: %w", err)
	}
	gw, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("alipaytest: generate gateway key: %w", err)
	}
	return &Keys{App: app, Gateway: gw}, nil
}

var testKeys = sync.OnceValues(GenerateKeys)

// TestKeys returns a [Keys] set generated once per process, so that tests
// do not pay for RSA key generation each time. It panics if the system
// cannot generate keys. Never use these keys outside tests.
func TestKeys() *Keys {
	k, err := testKeys()
	if err != nil {
		panic(err)
	}
	return k
}

// KeyFiles names the files written by [Keys.WriteFiles].
type KeyFiles struct {
	// AppPrivateKey is the app's private key, PKCS#8 PEM ("PRIVATE KEY").
	AppPrivateKey string `json:"app_private_key"`
	// AppPublicKey is the app's public key, SubjectPublicKeyInfo PEM.
	AppPublicKey string `json:"app_public_key"`
	// GatewayPrivateKey is the gateway's private key, PKCS#1 PEM
	// ("RSA PRIVATE KEY").
	GatewayPrivateKey string `json:"gateway_private_key"`
	// GatewayPublicKey is the gateway's public key ("Alipay's public
	// key"), SubjectPublicKeyInfo PEM.
	GatewayPublicKey string `json:"gateway_public_key"`
}

// File names used by [Keys.WriteFiles].
const (
	AppPrivateKeyFile     = "app_private_key.pem"
	AppPublicKeyFile      = "app_public_key.pem"
	GatewayPrivateKeyFile = "alipay_private_key.pem"
	GatewayPublicKeyFile  = "alipay_public_key.pem"
)

// WriteFiles writes the four key files into dir (created if missing;
// private keys mode 0600) and returns their paths.
func (k *Keys) WriteFiles(dir string) (KeyFiles, error) {
	f := KeyFiles{
		AppPrivateKey:     filepath.Join(dir, AppPrivateKeyFile),
		AppPublicKey:      filepath.Join(dir, AppPublicKeyFile),
		GatewayPrivateKey: filepath.Join(dir, GatewayPrivateKeyFile),
		GatewayPublicKey:  filepath.Join(dir, GatewayPublicKeyFile),
	}
	appPriv, err := PrivateKeyPKCS8PEM(k.App)
	if err != nil {
		return KeyFiles{}, err
	}
	err = writeFiles(dir, "key",
		file{f.AppPrivateKey, appPriv, 0o600},
		file{f.AppPublicKey, PublicKeyPEM(&k.App.PublicKey), 0o644},
		file{f.GatewayPrivateKey, PrivateKeyPKCS1PEM(k.Gateway), 0o600},
		file{f.GatewayPublicKey, PublicKeyPEM(&k.Gateway.PublicKey), 0o644},
	)
	if err != nil {
		return KeyFiles{}, err
	}
	return f, nil
}

// file is one file for writeFiles.
type file struct {
	path string
	data []byte
	mode os.FileMode
}

// writeFiles creates dir if missing and writes files into it; what names
// their kind in errors ("key", "certificate").
func writeFiles(dir, what string, files ...file) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("alipaytest: %s directory: %w", what, err)
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("alipaytest: write %s file: %w", what, err)
		}
	}
	return nil
}

// PublicKeyPEM encodes a public key as SubjectPublicKeyInfo PEM
// ("PUBLIC KEY"), the form Alipay distributes its public key in.
func PublicKeyPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		// An *rsa.PublicKey always marshals.
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PrivateKeyPKCS1PEM encodes a private key as PKCS#1 PEM ("RSA PRIVATE KEY").
func PrivateKeyPKCS1PEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// PrivateKeyPKCS8PEM encodes a private key as PKCS#8 PEM ("PRIVATE KEY").
func PrivateKeyPKCS8PEM(k *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("alipaytest: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

package sign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrSignature reports that a signature does not match the signed content.
var ErrSignature = errors.New("sign: signature does not match")

// Content returns the string Alipay signs for a set of text parameters:
// non-empty values only, "sign" excluded, sorted by key, joined as k=v&k=v.
func Content(params map[string]string) string {
	keys := make([]string, 0, len(params))
	n := 0
	for k, v := range params {
		if k == "sign" || v == "" {
			continue
		}
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	sort.Strings(keys)
	var b strings.Builder
	b.Grow(n)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// A Signer produces the Base64 signature of some content.
type Signer interface {
	// Sign returns the standard Base64 encoding of the signature of content.
	Sign(content []byte) (string, error)
}

// A Verifier checks a Base64 signature over some content. It returns an
// error wrapping [ErrSignature] when the signature does not match.
type Verifier interface {
	Verify(content []byte, signature string) error
}

// RSA2 signs with SHA256withRSA (PKCS#1 v1.5), Alipay's sign_type "RSA2".
type RSA2 struct {
	Key *rsa.PrivateKey
	// Rand is not used: PKCS#1 v1.5 signatures are deterministic, and
	// crypto/rsa signs in constant time without a random source.
	//
	// Deprecated: ignored; rsa.SignPKCS1v15 has not read its random
	// argument since Go 1.20. Leave it unset.
	Rand io.Reader
}

// Sign implements [Signer].
func (s RSA2) Sign(content []byte) (string, error) {
	if s.Key == nil {
		return "", errors.New("sign: RSA2 signer has no private key")
	}
	sum := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(nil, s.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: RSA2: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// RSA2Verifier verifies SHA256withRSA signatures with a public key.
type RSA2Verifier struct {
	Key *rsa.PublicKey
}

// Verify implements [Verifier].
func (v RSA2Verifier) Verify(content []byte, signature string) error {
	if v.Key == nil {
		return errors.New("sign: RSA2 verifier has no public key")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return fmt.Errorf("%w: signature is not Base64: %v", ErrSignature, err)
	}
	sum := sha256.Sum256(content)
	if err := rsa.VerifyPKCS1v15(v.Key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("%w (%v)", ErrSignature, err)
	}
	return nil
}

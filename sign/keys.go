package sign

import (
	"bytes"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/conffile"
)

// ErrKeyFormat reports key or certificate bytes that cannot be understood.
// Its messages never include the key material.
var ErrKeyFormat = errors.New("sign: unrecognised key format")

// ParsePrivateKey parses an RSA private key in PKCS#1 or PKCS#8 form, either
// PEM-armoured or bare Base64 DER (whitespace ignored).
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, err := derOf(data, "PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS#1 or PKCS#8 private key", ErrKeyFormat)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key is %T, want RSA", ErrKeyFormat, k)
	}
	return rk, nil
}

// ParsePublicKey parses an RSA public key given as a SubjectPublicKeyInfo
// (PEM "PUBLIC KEY" or bare Base64 DER), a PKCS#1 "RSA PUBLIC KEY", or an
// X.509 certificate (PEM or DER), whose key is returned.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	if block, _ := pem.Decode(bytes.TrimSpace(data)); block != nil && block.Type == "CERTIFICATE" {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrKeyFormat, err)
		}
		return certRSAKey(c)
	}
	der, err := derOf(data, "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: public key is %T, want RSA", ErrKeyFormat, k)
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		return certRSAKey(c)
	}
	return nil, fmt.Errorf("%w: not an RSA public key or certificate", ErrKeyFormat)
}

// LoadPrivateKeyFile reads and parses a private key file. Errors name the
// file, never its content.
func LoadPrivateKeyFile(path string) (*rsa.PrivateKey, error) {
	return loadFile(path, "private key", ParsePrivateKey)
}

// LoadPublicKeyFile reads and parses a public key or certificate file.
func LoadPublicKeyFile(path string) (*rsa.PublicKey, error) {
	return loadFile(path, "public key", ParsePublicKey)
}

// loadFile reads the key or certificate file at path (a regular file of
// bounded size) and parses it; what names the kind of file in errors,
// which name the file but never its content.
func loadFile[T any](path, what string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	data, err := conffile.Read(path, conffile.MaxSize)
	if err != nil {
		return zero, fmt.Errorf("sign: read %s: %w", what, err)
	}
	v, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("%s file %s: %w", what, path, err)
	}
	return v, nil
}

// ParseCertificates parses every certificate in a PEM bundle (or a single
// DER certificate).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	ders := certBlocks(data)
	if ders == nil {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("%w: no certificate found", ErrKeyFormat)
		}
		return []*x509.Certificate{c}, nil
	}
	certs := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrKeyFormat, i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// certBlocks returns the DER bytes of each CERTIFICATE block of a PEM
// bundle, in order, or nil when it holds none.
func certBlocks(data []byte) [][]byte {
	var ders [][]byte
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			ders = append(ders, block.Bytes)
		}
	}
	return ders
}

// CertSN returns Alipay's serial-number string for a certificate: the
// lowercase hex MD5 of the issuer's RFC 2253 name followed by the decimal
// serial number.
func CertSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.ToRDNSequence().String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// RootCertSN returns alipay_root_cert_sn for a PEM root bundle: the [CertSN]
// of each RSA-signed certificate, joined with '_'.
//
// Alipay's bundle also holds roots that crypto/x509 cannot parse, such as an
// SM2 one ("x509: unsupported elliptic curve"). Like the official SDKs, which
// keep only certificates whose signature algorithm is under the PKCS#1 arc
// (1.2.840.113549.1.1), RootCertSN skips such a certificate when its outer
// signatureAlgorithm is not an RSA one; an RSA-signed certificate that does
// not parse is an error.
func RootCertSN(bundle []byte) (string, error) {
	ders := certBlocks(bundle)
	isPEM := ders != nil
	if !isPEM {
		ders = [][]byte{bundle}
	}
	var sns []string
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			if oid, oerr := signatureOID(der); oerr == nil && !isRSAOID(oid) {
				continue
			}
			if !isPEM {
				return "", fmt.Errorf("%w: no certificate found", ErrKeyFormat)
			}
			return "", fmt.Errorf("%w: certificate %d: %v", ErrKeyFormat, i+1, err)
		}
		switch c.SignatureAlgorithm {
		case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.SHA256WithRSA,
			x509.SHA384WithRSA, x509.SHA512WithRSA,
			x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
			sns = append(sns, CertSN(c))
		}
	}
	if len(sns) == 0 {
		return "", fmt.Errorf("%w: root bundle holds no RSA-signed certificate", ErrKeyFormat)
	}
	return strings.Join(sns, "_"), nil
}

// oidPKCS1 is the arc under which RSA signature algorithms are registered.
var oidPKCS1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1}

func isRSAOID(oid asn1.ObjectIdentifier) bool {
	return len(oid) > len(oidPKCS1) && oid[:len(oidPKCS1)].Equal(oidPKCS1)
}

// signatureOID reads the outer signatureAlgorithm of a DER certificate
// without interpreting the rest, for certificates crypto/x509 refuses.
func signatureOID(der []byte) (asn1.ObjectIdentifier, error) {
	var cert struct {
		TBSCertificate     asn1.RawValue
		SignatureAlgorithm pkix.AlgorithmIdentifier
		SignatureValue     asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &cert)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errors.New("trailing data after certificate")
	}
	return cert.SignatureAlgorithm.Algorithm, nil
}

// CertFileSN reads a certificate file and returns the [CertSN] of its first
// certificate.
func CertFileSN(path string) (string, error) {
	certs, err := loadFile(path, "certificate", ParseCertificates)
	if err != nil {
		return "", err
	}
	return CertSN(certs[0]), nil
}

// RootCertFileSN reads a root bundle file and returns its [RootCertSN].
func RootCertFileSN(path string) (string, error) {
	return loadFile(path, "root certificate", RootCertSN)
}

func certRSAKey(c *x509.Certificate) (*rsa.PublicKey, error) {
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate key is %T, want RSA", ErrKeyFormat, c.PublicKey)
	}
	return k, nil
}

// derOf returns the DER bytes of PEM data of one of the given block types,
// or of bare Base64 text.
func derOf(data []byte, types ...string) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrKeyFormat)
	}
	if bytes.HasPrefix(data, []byte("-----BEGIN")) {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%w: broken PEM armour", ErrKeyFormat)
		}
		for _, t := range types {
			if block.Type == t {
				return block.Bytes, nil
			}
		}
		return nil, fmt.Errorf("%w: PEM block %q, want one of %s", ErrKeyFormat, block.Type, strings.Join(types, ", "))
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\n', '\r', '\t':
			return -1
		}
		return r
	}, string(data))
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("%w: neither PEM nor Base64", ErrKeyFormat)
	}
	return der, nil
}

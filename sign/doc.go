// Package sign implements Alipay's RSA2 request and response signatures and
// loads the keys and certificates they need.
//
// # Sign strings
//
// A request is signed over its text parameters: every parameter that is sent
// (query or multipart body) with a non-empty value, except "sign" itself and
// the file part, sorted by key in byte order and joined as key=value pairs
// with '&', without URL encoding. [Content] builds that string.
//
// # Keys
//
// [ParsePrivateKey] accepts an application private key as PKCS#1 or PKCS#8,
// PEM-armoured or bare Base64 (the form Alipay's key tool exports).
// [ParsePublicKey] accepts Alipay's public key as a SubjectPublicKeyInfo
// (PEM or bare Base64) or as an X.509 certificate, which is how certificate
// mode distributes it.
//
// # Certificate mode
//
// [CertSN] and [RootCertSN] compute the app_cert_sn and alipay_root_cert_sn
// parameters: the lowercase hex MD5 of the issuer's RFC 2253 name followed by
// the decimal serial number; for the root bundle, one such value per
// RSA-signed certificate, joined with '_'.
//
// Keys are loaded once at start-up; a [Signer] and a [Verifier] are safe for
// concurrent use. Nothing in this package logs or formats key material.
package sign

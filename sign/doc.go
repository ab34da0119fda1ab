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
// # OpenAPI v3
//
// OpenAPI v3 signs with the same algorithm (SHA256withRSA) over other text.
// A request carries "Authorization: ALIPAY-SHA256withRSA <auth>,sign=<sig>"
// where <auth> is app_id=...[,app_cert_sn=...],nonce=...,timestamp=<Unix
// ms> ([V3Auth]); the signature covers
// "<auth>\n<METHOD>\n<path?query>\n<body>\n", plus "<app_auth_token>\n"
// when one is sent ([V3Content]). An answer is signed over
// "<alipay-timestamp>\n<alipay-nonce>\n<raw body>\n" ([V3ResponseContent]).
// [ParseV3Authorization] takes a header apart again.
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

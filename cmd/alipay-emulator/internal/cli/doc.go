// Package cli is the alipay-emulator command: it parses the flags, loads or
// generates keys and certificates, builds the [alipaytest.Gateway] and
// serves it until its context ends.
//
// # Keys
//
// With --keys-dir DIR the command uses a complete test setup in DIR and
// generates whatever is missing: the app key pair (app_private_key.pem,
// PKCS#8, and app_public_key.pem), the gateway key pair
// (alipay_private_key.pem, PKCS#1, and alipay_public_key.pem) and, with
// --cert-mode, the certificates (appCertPublicKey.crt,
// alipayCertPublicKey_RSA2.crt, alipayRootCert.crt). A client configured
// from the same directory then talks to the emulator.
//
// Without --keys-dir, --app-public-key names the app's public key (PEM,
// Base64 or a certificate) and --gateway-key the gateway's private key,
// which is generated and written (mode 0600) when the file does not exist.
// The gateway public key is always written next to it (or to
// --gateway-public-key), and its path printed, so a client can be pointed at
// it. Certificate mode from files takes --app-cert, --root-cert and
// --gateway-cert.
//
// # Output
//
// On start-up the command prints, on standard output, lines of the form
//
//	gateway URL: http://127.0.0.1:9090/gateway.do
//	v3 endpoint: http://127.0.0.1:9090
//	gateway public key: /path/alipay_public_key.pem
//	admin API: http://127.0.0.1:9090/_emulator/
//
// (--listen 127.0.0.1:0 picks a free port; read it from these lines). The
// classic gateway and OpenAPI v3 (POST /v3/alipay/offline/material/image/upload
// under the v3 endpoint) are served at once, with the same checks, faults
// and records. Each request is logged on standard error, never with its
// app_auth_token.
//
// # Faults
//
// --fault takes the syntax of [alipaytest.Faults.Set] and may be repeated:
//
//	alipay-emulator --keys-dir keys --fault 5xx=0.2 --fault reset=0.05 --fault 20000=next:3
//
// The admin API (/_emulator/faults) changes them at run time.
//
// # Exit status
//
// [Run] returns the statuses of package internal/command (README.md, "Exit
// statuses"): 2 for a bad flag, key file, certificate, fault or listen
// address; 0 after a clean shutdown once its context ends (SIGINT or
// SIGTERM); 1 when the shutdown fails.
package cli

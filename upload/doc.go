// Package upload is a streaming client for Alipay's
// alipay.offline.material.image.upload method (materialImageUpload): one
// call sends one store photo or video and returns the image_id and
// image_url Alipay assigned to it, with the gateway's trace id.
//
// # Setting up
//
// Keys are loaded once, at start-up. [KeysFromFiles] reads the application
// private key (PKCS#1 or PKCS#8, PEM or the bare Base64 that Alipay's key
// tool writes) and Alipay's public key; [CertKeysFromFiles] reads the
// certificate-mode set instead (application certificate, Alipay's public
// key certificate and the root bundle) and derives app_cert_sn and
// alipay_root_cert_sn from them. [Keys.Apply] puts either into a [Config],
// and [New] checks the Config and fills in its defaults:
//
//	keys, err := upload.KeysFromFiles("app_private_key.pem", "alipay_public_key.pem")
//	...
//	cfg := upload.Config{AppID: "2021...", GatewayURL: upload.SandboxGateway}
//	keys.Apply(&cfg)
//	client, err := upload.New(cfg)
//
// GatewayURL defaults to [ProductionGateway]; [SandboxGateway] is Alipay's
// sandbox, and tests point it at an alipaytest emulator. A [Client] holds
// no per-upload state and is meant to be shared by all workers.
//
// # Two protocols
//
// Config.Protocol chooses between the classic gateway ([Classic], the
// default) and OpenAPI v3 ([V3]). Both send the same fields and file and
// give the same [Result] and the same error classes. v3 posts to
// V3Endpoint + /v3/alipay/offline/material/image/upload; V3Endpoint defaults to the scheme and host
// of GatewayURL ([ProductionV3Endpoint], [SandboxV3Endpoint]).
//
// # Streaming
//
// [Client.Upload] takes the file as an io.Reader plus its exact size. The
// multipart body (text parts image_type, image_name and, when set,
// image_pid, then the file part image_content with a filename and a real
// content type) is written into an io.Pipe by a goroutine while the HTTP
// transport sends it, 32 KiB at a time through a pooled buffer, so the file
// is never held in memory. The body's length is computed beforehand by
// laying out the same parts into a byte counter, and sent as an exact
// Content-Length: the request is never chunked. On v3 the text fields
// travel as one JSON object in a part named "data" (Content-Type
// application/json) before the file part.
//
// The reader must yield exactly Request.Size bytes. If it fails, comes up
// short or goes on past Size, the pipe is closed with that error before the
// closing boundary is written, so the transport aborts the request and the
// gateway never sees a complete body. The error then wraps [ErrContent] and
// the reader's own error (or [ErrSizeMismatch]): a caller that wraps its
// file in a checking reader can recognise its own error with errors.Is.
// Cancelling the context aborts the request the same way. Upload returns
// only after it has stopped reading the reader.
//
// # Signing
//
// Requests are signed with RSA2 as every official SDK does: the system
// parameters (app_id, method, format, charset, sign_type, timestamp in
// Beijing time, version, and app_auth_token, app_cert_sn and
// alipay_root_cert_sn when used) travel in the URL query; the text fields
// travel in the body; all of them with a non-empty value, sorted by key and
// joined as key=value pairs, are signed; the file is not. On v3 the
// Authorization header (ALIPAY-SHA256withRSA app_id=...[,app_cert_sn=...],
// nonce=...,timestamp=<Unix ms>,sign=...) is signed over the auth string,
// "POST", the path and query, the data part's text and, when acting for a
// merchant, the app_auth_token (also sent as alipay-app-auth-token); see
// package sign. Certificate mode adds alipay-root-cert-sn. Config.Now,
// Config.Nonce and Config.Boundary make the request bytes reproducible in
// tests.
//
// # Answers
//
// The answer's response node (or the legacy error_response node) is taken
// from the body as raw bytes by a token-level walk, and its signature is
// checked over exactly those bytes, retrying once with "\/" unescaped. A
// body naming a node twice, holding both nodes, or not being JSON is
// rejected. Every success must be signed; failures are verified when they
// carry a sign. A v3 answer is verified from its alipay-timestamp,
// alipay-nonce and alipay-signature headers over the raw body, and in
// certificate mode its alipay-sn must name Config.AlipayCertSN; every 2xx
// answer must be signed, and an error answer carrying a signature must
// verify too.
//
// # JSON calls
//
// [JSONCall] names one JSON operation in both protocols (a classic method
// with its biz_content, a v3 path with its JSON body) and decodes the
// verified answer into a typed struct. Its errors are those of uploads.
//
// # Pacing
//
// Config.Limiter, when set, paces every call: the client waits for the
// [Limiter]'s slot before each request (after checking it, before signing
// it and before its Timeout starts) and reports every throttled answer to
// it. upload/ratelimit's Limiter keeps a whole fleet under one rate per
// app_id through Redis and pauses the fleet after a throttled answer. A
// call the limiter gives no slot in time is not sent; its error wraps
// [ErrRateLimit] and is throttled. [WithWaitContext] lets a caller that
// sends under a context never cancelled still stop waiting for a slot.
// Without a Limiter (the default) nothing waits.
//
// # Errors
//
// Every error from Upload matches exactly one of [ErrRetryable],
// [ErrThrottled] and [ErrPermanent], and [Classify] says which:
//
//   - retryable: network failures, timeouts, a cancelled context, HTTP 5xx
//     and 408, code 20000 (v3: unknow-error);
//   - throttled: code 40005 and HTTP 429 (v3: app-call-limited,
//     method-call-limited) — retry later, more slowly, without spending
//     the retry budget;
//   - permanent: everything else, including [ErrBadSignature],
//     [ErrBadResponse], [ErrInvalidRequest] and content failures.
//
// An invalid or expired app_auth_token (classic 20001 with
// aop.invalid-app-auth-token or aop.app-auth-token-time-out, v3
// invalid-app-auth-token or app-auth-token-time-out) is permanent and also
// matches [ErrAppAuthToken], so that a caller can refresh the token.
//
// Gateway refusals are [*APIError] values (code, msg, sub_code, sub_msg,
// trace id; on v3 the code, message and HTTP status) and other unexpected
// statuses [*HTTPError] values; the client's log lines name the trace id
// of every failure that got an answer. Error texts never include the request URL's
// query, which carries sign and app_auth_token: transport errors are
// redacted before they are wrapped, so they are safe to log and to store.
//
// The upload is not idempotent: when an answer is lost, a retry may create
// a second image_id.
package upload

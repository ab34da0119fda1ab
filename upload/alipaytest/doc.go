// Package alipaytest emulates Alipay's classic gateway and OpenAPI v3 for
// alipay.offline.material.image.upload, in the spirit of net/http/httptest:
// a real HTTP server on loopback that checks requests the way the real
// gateway does, answers in the real format, records what arrived, and
// misbehaves on demand.
//
// # Using it in tests
//
// [Start] gives a test a running [Server] configured with the per-process
// [TestKeys] and closes it when the test ends; [NewServer] with
// [Config.WithTestKeys] does the same for code that has no testing.TB
// (examples, demos), which then calls Server.Close. Point the client at
// Server.URL (the classic gateway; Server.BaseURL is the v3 endpoint), sign
// with the app key and verify answers with [Gateway.PublicKey]:
//
//	srv := alipaytest.Start(t, alipaytest.Config{})
//	client, _ := upload.New(upload.Config{
//		GatewayURL:      srv.URL,
//		AppID:           alipaytest.TestAppID,
//		Signer:          sign.RSA2{Key: alipaytest.TestKeys().App},
//		AlipayPublicKey: srv.PublicKey(),
//	})
//	srv.Faults().Next(alipaytest.FaultThrottled, 1) // the next request gets 40005
//	...
//	for _, u := range srv.Uploads() { ... u.SHA256, u.Size, u.ImageName ... }
//
// A [Gateway] is also a plain http.Handler, for use with
// httptest.NewServer or any other server.
//
// # What it checks
//
// The request's text parameters are those of the query and of the
// multipart text parts together; a name present twice (in both places, or
// twice in one) is an error. The body is read as a stream with a
// multipart.Reader: the image_content part is hashed (SHA-256) and counted
// through a pooled buffer and never held in memory, and only its first 512
// bytes (validate.HeadSize) are kept to recognise its format. Bodies far beyond the size limit
// (twice MaxFileSize plus 1 MiB) are cut off and the connection is closed.
// The checks run in the order of this table, and the first failure is the
// answer. Sub-codes come from Alipay's public error-code list; the rows
// marked * have no dedicated sub-code there and use the generic one.
//
//	check                                       code   sub_code
//	body beyond 2 x MaxFileSize + 1 MiB         40002  isv.invalid-file-size
//	unreadable multipart body                   40002  isv.upload-fail
//	text part over 64 KiB, unexpected file part 40002  isv.invalid-parameter
//	parameter twice in the body, or in query
//	and body with different values              40002  isv.invalid-parameter
//	app_id missing                              40001  isv.missing-app-id
//	method missing                              40001  isv.missing-method
//	sign_type missing                           40001  isv.missing-signature-type
//	sign missing                                40001  isv.missing-signature
//	timestamp missing                           40001  isv.missing-timestamp
//	version missing                             40001  isv.missing-version
//	charset missing *                           40001  isv.missing-parameter
//	app_id not Config.AppID                     40002  isv.invalid-app-id
//	method not the upload method                40002  isv.invalid-method
//	format given and not JSON                   40002  isv.invalid-format
//	charset not utf-8                           40002  isv.invalid-charset
//	sign_type not RSA2                          40002  isv.invalid-signature-type
//	version not 1.0 *                           40002  isv.invalid-parameter
//	timestamp unparsable or off by > MaxSkew    40002  isv.invalid-timestamp
//	app_cert_sn not Config.AppCertSN            40002  isv.app-cert-not-exist
//	alipay_root_cert_sn not Config.RootCertSN   40002  isv.invalid-alipay-root-cert-sn
//	RSA2 signature does not verify              40002  isv.invalid-signature
//	app_auth_token issued here, expired         20001  aop.app-auth-token-time-out
//	app_auth_token issued here, replaced by a
//	refresh beyond OldTokenGrace, or revoked    20001  aop.invalid-app-auth-token
//	app_auth_token not issued here and not in
//	Config.AppAuthTokens (when it is set, or
//	with Auth.RequireIssuedTokens)              20001  aop.invalid-app-auth-token
//	image_type, image_name or file missing *    40001  isv.missing-parameter
//	image_type > 8, image_name > 128 or
//	image_pid > 16 characters *                 40002  isv.invalid-parameter
//	image_type not in Config.AllowedTypes       40002  isv.invalid-file-extension
//	file empty or larger than MaxFileSize       40002  isv.invalid-file-size
//	file content not of image_type              40002  isv.invalid-file-extension
//
// Timestamps are Beijing time (UTC+8) in the layout "2006-01-02 15:04:05". The
// signature is checked over every non-empty text parameter except sign,
// sorted and joined as sign.Content does. format is optional, as Alipay
// documents it (the official Node SDK does not send it), and the same
// parameter in the query and the body is accepted when both values are
// equal (that SDK sends an app_auth_token form field in both places). In public-key mode (no AppCertSN)
// a request carrying app_cert_sn is rejected, as the real gateway finds no
// certificate for the app. Formats are recognised by validate.Sniff (built
// on github.com/h2non/filetype); jpg and jpeg are the same format, and a
// QuickTime file (brand "qt  ") is "mov", not "mp4".
//
// # OpenAPI v3
//
// POST /v3/alipay/offline/material/image/upload (on Server.BaseURL) takes the v3 form of the same
// upload: the text fields as a JSON object in a multipart part named
// "data", then the image_content file part; the system parameters in the
// "Authorization: ALIPAY-SHA256withRSA app_id=...,nonce=...,timestamp=<Unix
// ms>,sign=..." header, with app_cert_sn in it and an alipay-root-cert-sn
// header in certificate mode, and the token in alipay-app-auth-token. The
// checks are those of the classic table where they apply, first the
// request's shape (body size, multipart, a duplicated part, any text part
// other than data: isv.invalid-parameter), then:
//
//	check                                       v3 code                       status
//	Authorization missing, or without sign      missing-signature             400
//	scheme not ALIPAY-SHA256withRSA             invalid-signature-type        400
//	Authorization malformed                     invalid-signature             400
//	app_id, timestamp or nonce missing          missing-app-id, missing-timestamp,
//	                                            missing-parameter             400
//	app_id not Config.AppID                     invalid-app-id                400
//	timestamp off by > MaxSkew                  invalid-timestamp             400
//	app_cert_sn not Config.AppCertSN            app-cert-not-exist            400
//	alipay-root-cert-sn not Config.RootCertSN   invalid-alipay-root-cert-sn   400
//	signature over "<auth>\nPOST\n<path>\n<data>\n[<token>\n]"
//	does not verify                             invalid-signature             400
//	app_auth_token refused as on the classic    invalid-app-auth-token,
//	gateway                                     app-auth-token-time-out       401
//	data missing, not a JSON object of strings  missing-parameter, invalid-parameter
//	then the fields and the file as on the classic gateway
//
// A v3 code is the classic sub_code without its "isv.", "aop." or "isp."
// prefix ([V3Code]); [Stats] counts rejections by the classic sub_code
// whichever protocol they came by. Alipay documents no HTTP status per
// code: the emulator answers 401 for a token problem, 429 for throttling,
// 500 for an unknown error and 400 otherwise. Answers are JSON
// ({"image_id","image_url"} with 200, or {"code","message"}), written
// without "\/" escapes, and every one is signed: alipay-signature over
// "<alipay-timestamp>\n<alipay-nonce>\n<body>\n" with the gateway key, plus
// alipay-sn (the gateway certificate's serial number) in certificate mode;
// the trace id is in alipay-trace-id. Records, counters and faults are
// shared with the classic gateway; [Upload].API tells which protocol an
// upload came by.
//
// # Merchant authorizations
//
// The emulator plays Alipay's side of app authorization (shared/protocol.md
// §3b). [Gateway.IssueCode] (admin: POST /_emulator/codes) issues a
// one-time app_auth_code for one merchant ([AuthMerchant]: auth_app_id and
// user_id) or several (a batch authorization); it expires after
// AuthConfig.CodeTTL (24 h). alipay.open.auth.token.app on /gateway.do
// (biz_content) and POST /v3/alipay/open/auth/token/app (JSON body) take
// {"grant_type":"authorization_code","code":...} or
// {"grant_type":"refresh_token","refresh_token":...} and answer user_id,
// auth_app_id, app_auth_token, app_refresh_token, expires_in and
// re_expires_in (seconds, as strings like Alipay's examples) for one
// merchant, or a "tokens" list of the same for a batch. Requests are checked
// (system parameters, signature) and answers signed as the upload's; faults
// apply to them too. A used, unknown or expired code answers 40002
// isv.code-invalid; a refresh token that is unknown, replaced beyond
// AuthConfig.OldRefreshGrace or revoked answers 40002
// isv.refresh-token-invalid, an expired one isv.refresh-token-time-out (v3:
// HTTP 400 and the codes without "isv."). A refresh issues a new token and
// refresh token; the replaced token keeps working for
// AuthConfig.OldTokenGrace. alipay.open.auth.token.app.query (classic,
// biz_content {"app_auth_token":...}) and GET
// /v3/alipay/open/auth/token/app/query?app_auth_token=... answer status
// valid or invalid, expires_in, auth_start and auth_end.
//
// Codes and tokens follow a clock of their own, Config.Now plus what
// [Gateway.Advance] (admin: POST /_emulator/clock) added, so tests can
// expire them without moving the clock that checks timestamps.
// [Gateway.ExpireToken] and [Gateway.Revoke] (admin: POST
// /_emulator/merchants/{id}/expire, .../revoke) expire a merchant's tokens
// now, and cancel its authorization. [Gateway.Merchants] (admin: GET
// /_emulator/merchants) tells each merchant's current token, every secret
// ever issued to it (for tests that look for them elsewhere) and its counts
// of exchanges and refresh calls. Each accepted upload records whose token
// it carried ([Upload].AuthAppID) and in which state ([Upload].TokenState:
// current, replaced within its grace, or listed). [Gateway.Reset] leaves
// authorizations alone.
//
// # Answers
//
// Every answer to POST /gateway.do carries a fresh trace_id response
// header (alipay-trace-id on v3). Gateway answers are HTTP 200 with Content-Type
// text/html;charset=utf-8, as Alipay sends them:
//
//	{"alipay_offline_material_image_upload_response":{"code":"10000","msg":"Success","image_id":"...","image_url":"http:\/\/..."},"sign":"..."}
//
// The JSON is written the way Alipay's gateway writes it: '/' escaped as
// "\/", Chinese sub_msg text as raw UTF-8. The sign is SHA256withRSA with
// the gateway key over the node's bytes exactly as written, escapes
// included. Error answers use the same node with code, msg, sub_code and
// sub_msg, and are signed too; in certificate mode a top-level
// alipay_cert_sn follows the node. Sub-codes listed in Config.LegacyErrors
// are answered instead in the legacy {"error_response":{...}} node without
// a sign, as the real gateway does when it cannot tell which app called
// (on v3: without the signature headers); listing another sub_code there
// emulates a forged, unsigned refusal.
// image_id is 32 letters and digits; image_url is Config.ImageURLBase
// followed by it.
//
// # Records and counters
//
// Each accepted upload is recorded as an [Upload] (SHA-256, size, name,
// type, pid, app_auth_token, file name and content type, detected format,
// image_id, trace id, time), so tests can assert exactly what arrived.
// Every request to a gateway method, whatever its answer (refused,
// faulted, a token call), is also recorded as a [Call] with its arrival
// time ([Gateway.Calls]), so that a test can count calls per second, as a
// rate limit does.
// Only the newest Config.MaxRecords uploads, and calls, are kept (default
// [DefaultMaxRecords]); older ones are dropped and counted. [Stats] counts
// requests, successes, rejections by sub_code, faults by kind, aborted
// requests, received bytes, dropped records and sink requests; the
// counters take constant memory. [Gateway.Reset] forgets the uploads and
// zeroes the counters.
//
// # Faults
//
// [Faults] makes requests fail, each [FaultKind] the way a real failure
// looks to a client:
//
//	kind       what happens                                           expected client class
//	502, 503   body drained, HTTP 502 / 503 with an HTML page          retryable
//	20000      body drained, signed 20000 isp.unknow-error            retryable
//	           (v3: HTTP 500 unknow-error)
//	40005      body drained, signed 40005 isv.app-call-limited        throttled
//	           (v3: HTTP 429 app-call-limited)
//	reset      part of the body read, TCP closed with SO_LINGER 0     retryable
//	slow       handled normally, answer held for the slow delay       retryable once the
//	           (a client that gives up first leaves no record)        client times out
//	badsign    handled and recorded, sign over other content          permanent
//	malformed  handled and recorded, body cut in half                 permanent
//	           (v3: the cut body is what is signed)
//	echo502    body drained, HTTP 502 with a page echoing the request's   retryable; no sign or
//	           URL (decoded, HTML-escaped, as sent, in JSON) and its      token in its errors
//	           Authorization and alipay-app-auth-token headers            or logs
//
// A fault is either scripted ([Faults.Next]: "the next 3 requests") or
// random at a rate ([Faults.SetRate]: "20% of requests", drawn from a
// generator seeded with Config.Seed); scripted faults come first. The
// command and the admin API take the same settings in the form
// "503=0.2", "reset=5%" or "20000=next:3" ([Faults.Set]).
//
// # Far away
//
// On loopback an answer comes back in a few milliseconds; Alipay across
// the internet answers one round trip later, and a narrow uplink sends a
// large photo slowly. Config.RoundTrip holds every answer of the gateway
// that long before its first byte, once the request has been read, and
// Config.Bandwidth reads every request body at most that many bytes a
// second (the alipay-emulator command's --round-trip and --bandwidth).
// Faults come on top; the admin API is never delayed.
//
// # Admin API
//
// Under /_emulator/ a Gateway also serves a small JSON API, so that other
// processes (a demo, chaos tests with separate workers) can steer and
// observe an emulator started with the alipay-emulator command:
//
//	GET    /_emulator/uploads     the recorded uploads ([]Upload), the newest Config.MaxRecords
//	DELETE /_emulator/uploads     forget them
//	GET    /_emulator/calls       every call received ([]Call, with arrival times), the newest Config.MaxRecords
//	GET    /_emulator/stats       the counters (Stats)
//	GET    /_emulator/faults      the fault settings (FaultSettings)
//	POST   /_emulator/faults      merge a FaultSettings, e.g.
//	                              {"rates":{"503":0.2},"next":[{"kind":"reset","count":3}],"slow_delay":"2s","specs":["20000=next:1"]}
//	PUT    /_emulator/faults      replace the settings with a FaultSettings
//	DELETE /_emulator/faults      clear the settings
//	POST   /_emulator/reset       forget uploads, zero counters, clear faults
//	GET    /_emulator/public-key  the gateway public key, PEM
//	POST   /_emulator/sink        read and discard the body, answer {"bytes":N}
//	POST   /_emulator/codes       issue an app_auth_code: {"auth_app_id":...,"user_id":...}
//	                              or {"merchants":[...]}; answers {"code":...}
//	GET    /_emulator/merchants   the merchants' authorizations ([]MerchantAuth, secrets included)
//	GET    /_emulator/merchants/{id}          one of them
//	POST   /_emulator/merchants/{id}/expire   its tokens expire now
//	POST   /_emulator/merchants/{id}/revoke   cancel its authorization
//	POST   /_emulator/clock       move the codes' and tokens' clock: {"advance":"25h"}
//
// The sink is a baseline for benchmarks: it costs the server nothing but
// the read, so the difference between an upload to the sink and one to
// /gateway.do is the gateway's own work (parsing, hashing, signing).
//
// # Keys and certificates
//
// [GenerateKeys] makes an app key pair and a gateway key pair; [TestKeys]
// caches one set per process. [Keys.WriteFiles] writes them as PEM files
// (app private key PKCS#8, gateway private key PKCS#1, public keys as
// SubjectPublicKeyInfo) for the command and demos. [GenerateCerts] issues a
// certificate-mode set (root CA bundle that also holds an ECDSA root, app
// certificate, Alipay certificate) and [Certs.Configure] switches a Config
// to certificate mode with its serial numbers.
//
// The emulator never logs app_auth_token or app_refresh_token values, codes
// or key material.
package alipaytest

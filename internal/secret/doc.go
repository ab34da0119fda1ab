// Package secret holds the one set of rules this module uses to keep
// secrets out of text that leaves a process: error messages that asynq
// stores in Redis, and everything the dashboard sends to a browser.
//
// # What counts as a secret
//
// A name is sensitive when its lower-cased form contains token, secret,
// sign, key or password ([SensitiveKey]). The rule is broad on purpose: it
// also catches "signature" and "api_key", because hiding a harmless field
// costs less than showing a merchant's app_auth_token or a request
// signature.
//
// # Free text
//
// [ScrubText] hides values inside free text such as an error that quotes a
// gateway URL. Two shapes are recognised:
//
//   - name=value, where name ends in token, secret, sign, key, password or
//     passwd, with "=" written plainly or URL-encoded as "%3D". The value
//     runs to the next &, white space, quote, backslash or angle bracket.
//   - "name": "value", a quoted JSON field whose name contains one of the
//     sensitive words.
//
// Names that merely contain a word before something else ("sign_type=RSA2",
// "keys=5") are left alone, so protocol and Redis details stay readable.
// Every hidden value becomes [Redacted].
//
// # Known secrets, in every encoding
//
// A caller that knows the exact secrets in play (the upload client knows a
// request's sign and app_auth_token, the tasks handler the job's token)
// removes them first with [Remove], which replaces every form a quoting
// text may hold ([Encodings]): as is, URL query- or path-escaped (also
// twice), HTML-escaped (also as html/template writes '+'), JSON-escaped.
// A gateway or proxy that echoes a request's URL in an error page is the
// case it exists for: a token holding '+', '/' or '&' no longer matches the
// name=value shape once the echo is escaped. Then it calls [ScrubText].
package secret

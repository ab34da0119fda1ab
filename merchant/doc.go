// Package merchant keeps the authorizations of the merchants an ISV uploads
// for: it exchanges a merchant's app_auth_code for an app_auth_token, stores
// the token and its refresh token in Redis only encrypted (AES-256-GCM, keys
// from a key file), hands the worker the current token at upload time and
// refreshes it ahead of expiry or after Alipay refused it, one refresh per
// merchant across the whole fleet.
//
// Jobs name a merchant by its auth_app_id and never carry its token.
//
// # Keys
//
// [LoadKeyring] reads a key file: one key a line, the standard base64 of
// 32 bytes ([GenerateKey] makes one), '#' comments. The first key seals,
// every key opens: to rotate, put a new key first and keep the old one
// after it until every record was sealed again: each refresh and
// authorization re-seals its record, and [Store.Reseal] re-seals them all,
// after which the old key can leave the file. A sealed value names its key by a short id and
// is bound to its record and field (associated data), so sealed values
// cannot be moved between merchants or between the token and the refresh
// token.
//
// # Records
//
// A [Store] keeps one Redis hash per merchant
// ("alipay-media-worker:merchant:" + auth_app_id) holding the [Merchant] as
// JSON (never a token), the sealed token and refresh token, and a
// generation that changes at every write, plus the set
// "alipay-media-worker:merchants" of auth_app_ids. Writes after a refresh
// or a refusal are conditional on the generation read before, so an authorization stored
// meanwhile is never overwritten by an older one's refresh.
//
// # Tokens at upload time
//
// [Store.Token] gives the current token, refreshing it first when it
// expires within Config.RefreshBefore (capped at half the token's
// lifetime). When Alipay refuses a token anyway (20001, see
// upload.ErrAppAuthToken), the caller hands it to [Store.Renew]: if it is
// no longer the current token, the current one comes back at once;
// otherwise one caller across the fleet refreshes it, holding the
// merchant's lock ("alipay-media-worker:merchant-lock:" + auth_app_id,
// SET NX PX with a random value, released by a compare-and-delete script), while the others poll
// the record until the new token is there. A refresh Alipay refuses
// (refresh token invalid or expired, authorization cancelled) marks the
// merchant [StatusReauthorizationRequired], with the reason and the time:
// from then on Token and Renew fail fast with [ErrUnauthorized] and no
// call reaches Alipay until [Store.Authorize] stores a new authorization.
// Transient failures (Redis, network, HTTP 5xx, 20000) are plain errors,
// to be retried, and never mark a merchant.
//
// [Store.Stats] counts refreshes by outcome ([RefreshOutcomes]) and the
// merchants that must authorize again, for metrics.
//
// # Errors
//
// Refusals match one of the package's sentinels with errors.Is:
// [ErrNotFound] for a merchant that was never authorized or was removed,
// [ErrUnauthorized] for a merchant that must authorize the app again,
// [ErrCode] for an app_auth_code Alipay refused (unknown, used or expired)
// and [ErrKey] for records the configured key file cannot open.
// Other failures (Redis, the network, Alipay unavailable) are plain errors
// worth retrying. No error, log line or [Merchant] holds a token.
package merchant

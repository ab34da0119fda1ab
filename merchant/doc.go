// Package merchant keeps the authorizations of the merchants an ISV uploads
// for: it exchanges a merchant's app_auth_code for an app_auth_token, stores
// the token and its refresh token in Redis only encrypted (AES-256-GCM, keys
// from a key file), hands the worker the current token at upload time and
// refreshes it ahead of expiry or after Alipay refused it, one refresh per
// merchant across the whole fleet.
//
// Jobs name a merchant by its auth_app_id and never carry its token.
//
// # Errors
//
// Every error of the package matches one of its sentinels with errors.Is:
// [ErrNotFound] for a merchant that was never authorized or was removed,
// [ErrUnauthorized] for a merchant that must authorize the app again,
// [ErrCode] for an app_auth_code Alipay refused (unknown, used or expired)
// and [ErrKey] for records the configured key file cannot open.
package merchant

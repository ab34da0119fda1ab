package alipayapi

import "time"

const (
	// Method is the classic gateway's method name of the upload.
	Method = "alipay.offline.material.image.upload"
	// ResponseNode is the JSON key of the classic answer's response node.
	ResponseNode = "alipay_offline_material_image_upload_response"
	// V3UploadPath is the OpenAPI v3 path of the upload.
	V3UploadPath = "/v3/alipay/offline/material/image/upload"
	// ErrorNode is the JSON key of the legacy error node, which the
	// classic gateway answers (without a sign) when it cannot tell which
	// application is calling.
	ErrorNode = "error_response"
	// TimestampLayout is the layout of the classic timestamp parameter, in
	// Beijing time.
	TimestampLayout = "2006-01-02 15:04:05"
)

// Beijing is the time zone of the classic timestamp parameter: UTC+8, with
// no daylight saving time.
var Beijing = time.FixedZone("CST", 8*3600)

// Merchant authorization (shared/protocol.md §3b): exchanging an
// app_auth_code for an app_auth_token, refreshing it, and asking about it.
const (
	// AuthTokenMethod is the classic method that exchanges a code or a
	// refresh token; its answer node is "alipay_open_auth_token_app_response".
	AuthTokenMethod = "alipay.open.auth.token.app"
	// AuthTokenPath is its v3 path (POST, JSON body).
	AuthTokenPath = "/v3/alipay/open/auth/token/app"
	// AuthQueryMethod is the classic method that tells whether a token is
	// valid and until when.
	AuthQueryMethod = "alipay.open.auth.token.app.query"
	// AuthQueryPath is its v3 path (GET, ?app_auth_token=...).
	AuthQueryPath = "/v3/alipay/open/auth/token/app/query"

	// GrantAuthorizationCode and GrantRefreshToken are the grant_type
	// values of AuthTokenMethod.
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"

	// SubCodeInvalid is the sub_code of a used, wrong or expired
	// app_auth_code (40002; v3 code "code-invalid").
	SubCodeInvalid = "isv.code-invalid"
	// SubRefreshTokenInvalid and SubRefreshTokenTimeOut refuse a refresh
	// token that is unknown, replaced past its grace, or whose
	// authorization was cancelled, and one that expired (40002; v3 codes
	// without "isv."). Alipay's public pages name no sub_code for these;
	// they are the emulator's. The merchant package takes these, the two
	// 20001 token sub_codes and any signed 40004 answer to a refresh as
	// "the merchant must authorize again" (docs/protocol-notes.md).
	SubRefreshTokenInvalid = "isv.refresh-token-invalid"
	SubRefreshTokenTimeOut = "isv.refresh-token-time-out"
	// SubAppAuthTokenInvalid and SubAppAuthTokenTimeOut are the 20001
	// sub_codes of an invalid and an expired app_auth_token.
	SubAppAuthTokenInvalid = "aop.invalid-app-auth-token"
	SubAppAuthTokenTimeOut = "aop.app-auth-token-time-out"
)

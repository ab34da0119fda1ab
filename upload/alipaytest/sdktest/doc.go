// Package sdktest checks the gateway emulator, and the upload client with
// it, against Alipay's official Node SDK (npm alipay-sdk 4.x): someone
// else's implementation of both protocols.
//
// Its test starts the emulator in public key mode and in certificate mode
// and runs upload.js (Node) once per mode and protocol: sdk.curl() uploads a
// file over OpenAPI v3 and sdk.exec() over the classic gateway (with
// validateSign: true, without which exec() verifies nothing). The SDK signs
// the requests, which the emulator must accept and record, and verifies the
// emulator's signed answers. Then a proxy between the two changes one byte
// of each answer: the SDK must refuse it, and so must upload.Client. Node
// runs with TZ=Asia/Shanghai, because the SDK writes the classic timestamp
// in local time.
//
// TestOfficialSDKAuth runs auth.js over both protocols: the SDK exchanges
// an app_auth_code the emulator issued (alipay.open.auth.token.app with
// exec(), POST /v3/alipay/open/auth/token/app with curl()), refreshes the
// token, and queries it (alipay.open.auth.token.app.query; v3: GET
// /v3/alipay/open/auth/token/app/query), verifying every answer; the
// tokens it read must be those the emulator issued.
//
// The SDK is installed from package-lock.json by `make deps` (.ci/deps
// runs `npm ci` here). The test never skips: without node or without
// node_modules it fails and says to run `make deps`.
package sdktest

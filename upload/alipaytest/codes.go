package alipaytest

// Gateway response codes the emulator answers with.
const (
	CodeSuccess      = "10000" // Success
	CodeUnavailable  = "20000" // Service Currently Unavailable
	CodeInvalidToken = "20001" // Insufficient Token Permissions
	CodeMissingParam = "40001" // Missing Required Arguments
	CodeInvalidParam = "40002" // Invalid Arguments
	CodeCallLimited  = "40005" // Call Limited
)

// Sub-codes the emulator answers with. See the package documentation for the
// table of which check produces which.
const (
	SubMissingAppID         = "isv.missing-app-id"
	SubMissingMethod        = "isv.missing-method"
	SubMissingSignature     = "isv.missing-signature"
	SubMissingSignatureType = "isv.missing-signature-type"
	SubMissingTimestamp     = "isv.missing-timestamp"
	SubMissingVersion       = "isv.missing-version"
	SubMissingParameter     = "isv.missing-parameter"

	SubInvalidAppID         = "isv.invalid-app-id"
	SubInvalidMethod        = "isv.invalid-method"
	SubInvalidFormat        = "isv.invalid-format"
	SubInvalidCharset       = "isv.invalid-charset"
	SubInvalidSignatureType = "isv.invalid-signature-type"
	SubInvalidSignature     = "isv.invalid-signature"
	SubInvalidTimestamp     = "isv.invalid-timestamp"
	SubInvalidParameter     = "isv.invalid-parameter"
	SubInvalidFileSize      = "isv.invalid-file-size"
	SubInvalidFileExtension = "isv.invalid-file-extension"
	SubUploadFail           = "isv.upload-fail"
	SubAppCertNotExist      = "isv.app-cert-not-exist"
	SubInvalidRootCertSN    = "isv.invalid-alipay-root-cert-sn"

	SubInvalidAppAuthToken = "aop.invalid-app-auth-token"
	SubUnknownError        = "isp.unknow-error" // sic: Alipay's spelling
	SubAppCallLimited      = "isv.app-call-limited"
)

// codeMsg is the gateway's msg text for each code.
var codeMsg = map[string]string{
	CodeSuccess:      "Success",
	CodeUnavailable:  "Service Currently Unavailable",
	CodeInvalidToken: "Insufficient Token Permissions",
	CodeMissingParam: "Missing Required Arguments",
	CodeInvalidParam: "Invalid Arguments",
	CodeCallLimited:  "Call Limited",
}

// rejection is one error answer: a code, its sub_code and a sub_msg.
type rejection struct {
	code, subCode, subMsg string
}

func reject(code, subCode, subMsg string) *rejection {
	return &rejection{code: code, subCode: subCode, subMsg: subMsg}
}

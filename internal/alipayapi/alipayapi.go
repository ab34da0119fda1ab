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

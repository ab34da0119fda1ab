// Package upload is a streaming client for Alipay's
// alipay.offline.material.image.upload method (materialImageUpload).
//
// TODO(issue 2): narrative documentation.
package upload

// Package alipaytest emulates Alipay's classic gateway for
// alipay.offline.material.image.upload, in the spirit of net/http/httptest.
//
// TODO: narrative, code table, examples.
package alipaytest

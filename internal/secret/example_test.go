package secret_test

import (
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/secret"
)

func ExampleScrubText() {
	fmt.Println(secret.ScrubText(`Post "https://gw/gateway.do?app_auth_token=abc&sign=xyz&sign_type=RSA2": EOF`))
	fmt.Println(secret.ScrubText(`gateway answered {"sign": "c2lnbmF0dXJl", "code": "40004"}`))
	// Output:
	// Post "https://gw/gateway.do?app_auth_token=[redacted]&sign=[redacted]&sign_type=RSA2": EOF
	// gateway answered {"sign": "[redacted]", "code": "40004"}
}

func ExampleSensitiveKey() {
	fmt.Println(secret.SensitiveKey("app_auth_token"), secret.SensitiveKey("Signature"), secret.SensitiveKey("image_id"))
	// Output: true true false
}

func ExampleRemove() {
	token := "tok+en/1&2"
	echo := `<p>POST /gateway.do?app_auth_token=tok%2Ben%2F1%262 (token tok+en/1&amp;2)</p>`
	fmt.Println(secret.Remove(echo, token))
	// Output: <p>POST /gateway.do?app_auth_token=[redacted] (token [redacted])</p>
}

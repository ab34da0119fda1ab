package alipaytest

import "testing"

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://x/y":      `"http:\/\/x\/y"`,
		`a"b\c`:           `"a\"b\\c"`,
		"无效签名":            `"无效签名"`,
		"tab\tnl\n\x01":   `"tab\tnl\n\u0001"`,
		"bad \xff utf8":   `"bad \ufffd utf8"`,
		"":                `""`,
		"plain ascii 123": `"plain ascii 123"`,
	} {
		if got := string(appendJSONString(nil, in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

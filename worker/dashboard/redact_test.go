package dashboard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/tasks"
)

func TestFormatPayloadRedactsAndPrettyPrints(t *testing.T) {
	t.Parallel()
	in := `{"version":1,"path":"/media/a.jpg","app_auth_token":"tokSECRET","image_pid":"2088",` +
		`"nested":{"Merchant_Secret":{"deep":"tokSECRET"},"list":[{"api_key":"tokSECRET"},2.50,null,true]},` +
		`"signature":["tokSECRET"],"note":"see https://gw/x?app_auth_token=tokSECRET&sign=abc&charset=utf-8"}`
	got := FormatPayload("alipay:material_image_upload", []byte(in))
	want := `{
  "version": 1,
  "path": "/media/a.jpg",
  "app_auth_token": "[redacted]",
  "image_pid": "2088",
  "nested": {
    "Merchant_Secret": "[redacted]",
    "list": [
      {
        "api_key": "[redacted]"
      },
      2.50,
      null,
      true
    ]
  },
  "signature": "[redacted]",
  "note": "see https://gw/x?app_auth_token=[redacted]&sign=[redacted]&charset=utf-8"
}`
	if got != want {
		t.Errorf("FormatPayload:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "tokSECRET") {
		t.Error("token leaked")
	}
}

func TestFormatPayloadNonJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"app_auth_token=tokSECRET", "(payload of 24 bytes, not JSON)"},
		{"\xff\x00binary", "(payload of 8 bytes, not JSON)"},
		{`{"a":1} {"b":2}`, "(payload of 15 bytes, not JSON)"},
		{`{"a":`, "(payload of 5 bytes, not JSON)"},
		{"", "(empty payload)"},
		{"  \n", "(empty payload)"},
		{`"just a string"`, `"just a string"`},
		{`{}`, `{}`},
		{`[]`, `[]`},
	} {
		if got := FormatPayload("t", []byte(tc.in)); got != tc.want {
			t.Errorf("FormatPayload(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatResultShowsImageID(t *testing.T) {
	t.Parallel()
	got := formatResult("", []byte(`{"image_id":"img_123","image_url":"http://example.test/i/1?a=1&b=2"}`))
	want := "{\n  \"image_id\": \"img_123\",\n  \"image_url\": \"http://example.test/i/1?a=1&b=2\"\n}"
	if got != want {
		t.Errorf("formatResult = %q, want %q", got, want)
	}
}

// TestFormatResultShowsTheConversion: the result of a converted file, as
// the handler writes it, shows what was sent, nothing redacted.
func TestFormatResultShowsTheConversion(t *testing.T) {
	t.Parallel()
	res := tasks.Result{ImageID: "img_1", ImageType: "jpg", SHA256: strings.Repeat("a", 64), Bytes: 2_400_000,
		Converted: &convert.Record{From: "heif", To: "jpg", Why: convert.WhyType, BytesBefore: 2_400_000, BytesAfter: 3_100_000,
			Quality: 92, WidthBefore: 4032, HeightBefore: 3024, WidthAfter: 4032, HeightAfter: 3024,
			SHA256: strings.Repeat("b", 64), SourceSHA256: strings.Repeat("a", 64)}}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	got := formatResult("", data)
	for _, want := range []string{`"converted": {`, `"from": "heif"`, `"why": "type"`, `"bytes_before": 2400000`, `"bytes_after": 3100000`,
		`"quality": 92`, `"width_after": 4032`, `"sha256": "` + strings.Repeat("b", 64), `"source_sha256": "` + strings.Repeat("a", 64)} {
		if !strings.Contains(got, want) {
			t.Errorf("formatResult does not show %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "[redacted]") {
		t.Errorf("formatResult redacts part of the record:\n%s", got)
	}
}

// FuzzRedactJSON checks that redaction of any valid JSON yields valid JSON
// and never returns the value of a sensitive key.
func FuzzRedactJSON(f *testing.F) {
	f.Add([]byte(`{"app_auth_token":"zzSECRETzz","a":[1,{"b":"c"}]}`), "zzSECRETzz")
	f.Add([]byte(`[{"x":{"sign":"zzSECRETzz"}}]`), "zzSECRETzz")
	f.Fuzz(func(t *testing.T, data []byte, secret string) {
		if !json.Valid(data) {
			if _, err := redactJSON(data, "  "); err == nil {
				t.Fatalf("redactJSON accepted invalid JSON %q", data)
			}
			return
		}
		out, err := redactJSON(data, "  ")
		if err != nil {
			t.Fatalf("redactJSON(%q): %v", data, err)
		}
		if !json.Valid(out) {
			t.Fatalf("redactJSON(%q) = invalid JSON %q", data, out)
		}
		if len(secret) < 4 || strings.ContainsAny(secret, `"\`) || !strings.Contains(string(data), `"`+secret+`"`) {
			return
		}
		wrapped := []byte(`{"outer":[` + string(data) + `],"app_auth_token":"` + secret + `"}`)
		if !json.Valid(wrapped) {
			return
		}
		out, err = redactJSON(wrapped, "")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Token string `json:"app_auth_token"`
		}
		if err := json.Unmarshal(out, &v); err != nil || v.Token != "[redacted]" {
			t.Fatalf("token not redacted in %s (%v)", out, err)
		}
	})
}

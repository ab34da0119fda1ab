package rawjson

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestStringKeepsInvalidUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		want  string
		valid bool
	}{
		{`"plain"`, "plain", true},
		{`"caf` + "\xe9" + `.jpg"`, "caf\xe9.jpg", false},
		{`"a\ud800b"`, "a\xed\xa0\x80b", false},
		{`"a\udc00b"`, "a\xed\xb0\x80b", false},
		{`"\ud83d\ude00 \u00e9\n\t\"\\\/"`, "\U0001F600 \u00e9\n\t\"\\/", true},
		{`"\ufffd"`, "\uFFFD", true},
		{`"\u202e"`, "\u202E", true},
	} {
		var got struct {
			S String `json:"s"`
		}
		if err := json.Unmarshal([]byte(`{"s":`+tc.in+`}`), &got); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(got.S) != tc.want || utf8.ValidString(string(got.S)) != tc.valid {
			t.Errorf("%s: got %q, want %q", tc.in, got.S, tc.want)
		}
		if tc.valid { // valid text decodes as encoding/json decodes it
			var plain string
			_ = json.Unmarshal([]byte(tc.in), &plain)
			if plain != string(got.S) {
				t.Errorf("%s: %q, encoding/json %q", tc.in, got.S, plain)
			}
		}
	}
	var n struct{ S String }
	n.S = "kept"
	if err := json.Unmarshal([]byte(`{"S":null}`), &n); err != nil || n.S != "kept" {
		t.Errorf("null: %q %v", n.S, err)
	}
	if err := json.Unmarshal([]byte(`{"S":5}`), &n); err == nil {
		t.Error("a number decoded as a string")
	}
}

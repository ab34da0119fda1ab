package importer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortenName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("门", 200)
	cases := []struct {
		name, in, want string
	}{
		{"short kept", "front.jpg", "front.jpg"},
		{"exactly 128", strings.Repeat("a", 124) + ".jpg", strings.Repeat("a", 124) + ".jpg"},
		{"ascii cut keeps extension", strings.Repeat("a", 200) + ".jpeg", strings.Repeat("a", 123) + ".jpeg"},
		{"runes, not bytes", long + ".png", strings.Repeat("门", 124) + ".png"},
		{"no extension", strings.Repeat("b", 130), strings.Repeat("b", 128)},
		{"absurd extension is stem", "x." + strings.Repeat("e", 140), "x." + strings.Repeat("e", 126)},
		{"invalid utf-8 kept, for the name rule to refuse", "caf\xe9.jpg", "caf\xe9.jpg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := ShortenName(c.in, MaxNameRunes)
			if got != c.want {
				t.Errorf("ShortenName(%q) = %q, want %q", c.in, got, c.want)
			}
			if n := utf8.RuneCountInString(got); n > MaxNameRunes || utf8.ValidString(got) != utf8.ValidString(c.in) {
				t.Errorf("result has %d runes, valid=%v", n, utf8.ValidString(got))
			}
		})
	}
}

func TestNameRules(t *testing.T) {
	t.Parallel()
	rel := "shop-12/outside/front.jpg"
	for rule, want := range map[NameRule]string{
		NameBase:    "front.jpg",
		NameRelPath: "shop-12/outside/front.jpg",
		NameStem:    "front",
	} {
		if got := rule.Name(rel); got != want {
			t.Errorf("%s: Name(%q) = %q, want %q", rule, rel, got, want)
		}
	}
	if got := NameStem.Name(".profile"); got != ".profile" {
		t.Errorf("stem of a dot file = %q, want the whole name", got)
	}
	if _, err := ParseNameRule("template"); err == nil {
		t.Error("ParseNameRule accepted an unknown rule")
	}
	if r, err := ParseNameRule(""); err != nil || r != NameBase {
		t.Errorf("ParseNameRule(\"\") = %q, %v; want base", r, err)
	}
}

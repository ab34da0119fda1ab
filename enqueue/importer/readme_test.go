package importer_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/enqueue/importer"
)

// TestREADMEListsEveryManifestField: the README's paragraph on --manifest
// names every field a manifest row has, and a row leaves out the fields
// it has no value for rather than writing "".
func TestREADMEListsEveryManifestField(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "`--manifest FILE` writes one JSON line per file")
	if start < 0 {
		t.Fatal("README.md has no paragraph on --manifest")
	}
	para, _, _ := strings.Cut(text[start:], "\n\n")
	rt := reflect.TypeFor[importer.Row]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if !strings.Contains(para, "`"+name+"`") {
			t.Errorf("README.md's --manifest paragraph does not name the field %s", name)
		}
	}

	line, err := json.Marshal(importer.Row{Path: "/srv/media/a.txt", State: importer.StateRejected, Reason: "unsupported_type", Error: "not an image"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(line), `""`) || !strings.Contains(string(line), `"duplicate":false`) {
		t.Errorf("a rejected row: %s; want no empty strings, and duplicate always", line)
	}
}

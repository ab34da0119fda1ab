package rawjson_test

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/storemedia/alipay-media-worker/internal/rawjson"
)

func ExampleString() {
	body := []byte("{\"name\":\"caf\xe9.jpg\"}") // Latin-1, not UTF-8
	var plain struct{ Name string }
	var kept struct{ Name rawjson.String }
	_ = json.Unmarshal(body, &plain)
	_ = json.Unmarshal(body, &kept)
	fmt.Println(utf8.ValidString(plain.Name), utf8.ValidString(string(kept.Name)))
	// Output: true false
}

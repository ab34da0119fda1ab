package badnames_test

import (
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/badnames"
	"github.com/storemedia/alipay-media-worker/validate"
)

func Example() {
	refused := 0
	for _, c := range badnames.Cases {
		if validate.CheckName(c.Name) != nil {
			refused++
		}
	}
	fmt.Println(refused == len(badnames.Cases))
	// Output: true
}

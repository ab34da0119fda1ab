package conffile_test

import (
	"errors"
	"fmt"

	"github.com/storemedia/alipay-media-worker/internal/conffile"
)

func ExampleRead() {
	_, err := conffile.Read("/dev/zero", conffile.MaxSize)
	fmt.Println(errors.Is(err, conffile.ErrNotRegular))
	// Output: true
}

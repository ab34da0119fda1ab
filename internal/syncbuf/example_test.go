package syncbuf_test

import (
	"fmt"
	"sync"

	"github.com/storemedia/alipay-media-worker/internal/syncbuf"
)

func ExampleBuffer() {
	var out syncbuf.Buffer
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { fmt.Fprint(&out, "x") })
	}
	wg.Wait()
	fmt.Println(out.String())
	// Output: xxx
}

package bench_test

import (
	"fmt"
	"time"

	"github.com/storemedia/alipay-media-worker/cmd/bench/internal/bench"
)

// Ratios compare the pipeline with the direct upload loop measured in the
// same run.
func ExampleCell_Ratio() {
	c := bench.Cell{
		Size: 1_000_000, Concurrency: 8, Files: 300,
		Direct:   bench.Measure{Files: 300, Bytes: 300_000_000, Elapsed: time.Second},
		Worker:   bench.Measure{Files: 300, Bytes: 300_000_000, Elapsed: 1500 * time.Millisecond},
		EndToEnd: bench.Measure{Files: 300, Bytes: 300_000_000, Elapsed: 2 * time.Second},
	}
	fmt.Printf("direct %.0f MB/s, worker %.0f MB/s (%.2fx), end to end %.2fx\n",
		c.Direct.MBPerSec(), c.Worker.MBPerSec(), c.Ratio(), c.EndToEndRatio())
	// Output: direct 300 MB/s, worker 200 MB/s (0.67x), end to end 0.50x
}

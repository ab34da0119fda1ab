//go:build vips

package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/internal/testproc"
)

// TestConvertScenario runs the convert scenario with one HEIC and one
// JPEG photo of 24 megapixels, through a worker built with -tags vips.
func TestConvertScenario(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	bins, err := testproc.Build(ctx, dir, testproc.CmdWorker, testproc.CmdEnqueue)
	if err != nil {
		t.Fatal(err)
	}
	vipsBins, err := testproc.BuildTagged(ctx, t.TempDir(), "vips", testproc.CmdWorker)
	if err != nil {
		t.Fatal(err)
	}
	redis := testproc.StartRedis(t)
	rep, err := Run(ctx, Config{
		RedisURL:         redis.URL(),
		WorkerBin:        bins[0],
		EnqueueBin:       bins[1],
		ConvertWorkerBin: vipsBins[0],
		Scenarios:        []string{ScenarioConvert},
		ConvertFiles:     1,
		Dir:              t.TempDir(),
		Timeout:          2 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Convert
	if c == nil || c.Unavailable != "" || len(c.Inputs) != 2 || c.Files() != 2 || c.Concurrency != DefaultConvertConcurrency {
		t.Fatalf("convert result %+v", c)
	}
	for _, in := range c.Inputs {
		// Both photos are over the 5 MiB limit, so the worker re-encodes
		// them at a quality from 80 to 95; the JPEG is turned upright.
		if in.Files != 1 || in.Bytes <= 5<<20 || in.Quality < 80 || in.Quality > 95 ||
			in.BytesAfter <= 0 || in.BytesAfter > 5<<20 || in.VipsWall <= 0 || in.VipsPeakRSS < 1<<20 {
			t.Errorf("%s input %+v", in.Kind, in)
		}
		want := [2]int{convertW, convertH}
		if in.Kind == "jpeg" {
			want = [2]int{convertH, convertW}
		}
		if got := [2]int{in.WidthAfter, in.HeightAfter}; got != want {
			t.Errorf("%s sent at %v pixels, want %v", in.Kind, got, want)
		}
	}
	if c.Wall <= 0 || c.VipsWall <= 0 || c.WorkerPeakRSS < 1<<20 || c.SpeedRatio() <= 0 {
		t.Errorf("convert result %+v", c)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"all, through the worker", "conversion speed, the worker against the vips command:", "converting worker's peak RSS"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report without %q:\n%s", want, b.String())
		}
	}
}

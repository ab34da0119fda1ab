//go:build vips

package convert_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storemedia/alipay-media-worker/convert"
	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// The benchmarks convert big inputs the bench makes itself, once per run
// of the test binary (about a minute, most of it x265 encoding the HEIC):
//
//   - jpeg-24mp: 6000x4000, Go's encoder at quality 95, about 8 MB:
//     re-encoded under 5 MB, the quality search at work;
//   - heic-12mp: 4000x3000 from heif-enc at quality 90;
//   - webp-12mp: 4000x3000 from the vips command at quality 90.
//
// BenchmarkConvert measures conversions in this process. BenchmarkVersusVips
// puts them next to the vips command doing the same final encode of the
// same file (same quality and size, 4:2:0, metadata stripped): a child
// process (this test binary, see TestMain) converts, the vips command
// runs, turn about, and each side's throughput and peak RSS are reported
// with their ratios. The vips command pays its start-up on every file,
// the child once, as a worker does.

type benchInput struct {
	name, path string
	size       int64
}

var (
	benchOnce   sync.Once
	benchDir    string
	benchInputs []benchInput
	benchErr    error
)

func inputs(b *testing.B) []benchInput {
	b.Helper()
	benchOnce.Do(func() { benchInputs, benchErr = makeBenchInputs() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchInputs
}

func makeBenchInputs() ([]benchInput, error) {
	dir, err := os.MkdirTemp("", "convert-bench-")
	if err != nil {
		return nil, err
	}
	benchDir = dir
	var out []benchInput
	add := func(name, path string) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		out = append(out, benchInput{name: name, path: path, size: fi.Size()})
		return nil
	}
	sh := func(name string, args ...string) error {
		if b, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %v: %v: %s", name, args, err, b)
		}
		return nil
	}
	jpg24 := filepath.Join(dir, "jpeg-24mp.jpg")
	if err := writeJPEG(jpg24, mediagen.Photo(6000, 4000, 24, 8), 95); err != nil {
		return nil, err
	}
	src12 := filepath.Join(dir, "src-12mp.jpg")
	if err := writeJPEG(src12, mediagen.Photo(4000, 3000, 12, 4), 98); err != nil {
		return nil, err
	}
	heic := filepath.Join(dir, "heic-12mp.heic")
	if err := sh("heif-enc", "-q", "90", "-p", "preset=ultrafast", "-o", heic, src12); err != nil {
		return nil, err
	}
	webp := filepath.Join(dir, "webp-12mp.webp")
	if err := sh("vips", "copy", src12, webp+"[Q=90]"); err != nil {
		return nil, err
	}
	for _, f := range [][2]string{{"jpeg-24mp", jpg24}, {"heic-12mp", heic}, {"webp-12mp", webp}} {
		if err := add(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func writeJPEG(path string, img image.Image, q int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: q}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func BenchmarkConvert(b *testing.B) {
	for _, in := range inputs(b) {
		b.Run(in.name, func(b *testing.B) {
			data, err := os.ReadFile(in.path)
			if err != nil {
				b.Fatal(err)
			}
			c := newConverter(b, convert.Config{})
			b.SetBytes(in.size)
			for b.Loop() {
				res, err := c.Convert(context.Background(), bytes.NewReader(data), in.size)
				if err != nil {
					b.Fatal(err)
				}
				if err := res.Remove(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conv/s")
		})
	}
}

// childEnv names the input files of a converting child process.
const childEnv = "CONVERT_BENCH_CHILD_FILES"

// TestMain runs the converting child of BenchmarkVersusVips when asked to,
// and removes the bench inputs after a run.
func TestMain(m *testing.M) {
	if files := os.Getenv(childEnv); files != "" {
		os.Exit(benchChild(filepath.SplitList(files)))
	}
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// childReport is one conversion of the child, on its stdout.
type childReport struct {
	Nanos  int64          `json:"nanos"`
	Record convert.Record `json:"record"`
	Error  string         `json:"error,omitempty"`
}

// benchChild converts files[i] for every index i read from stdin, one
// line each, reporting each conversion as JSON on stdout.
func benchChild(files []string) int {
	c, err := convert.New(convert.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	in := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		i, err := strconv.Atoi(in.Text())
		if err != nil || i < 0 || i >= len(files) {
			fmt.Fprintln(os.Stderr, "bad index", in.Text())
			return 1
		}
		var rep childReport
		start := time.Now()
		f, err := os.Open(files[i])
		if err == nil {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil {
				var res *convert.Result
				if res, err = c.Convert(context.Background(), f, fi.Size()); err == nil {
					rep.Record = res.Record
					err = res.Remove()
				}
			}
			f.Close()
		}
		rep.Nanos = time.Since(start).Nanoseconds()
		if err != nil {
			rep.Error = err.Error()
		}
		if err := enc.Encode(rep); err != nil {
			return 1
		}
	}
	return 0
}

// rounds is how many times each side converts each input.
const rounds = 3

func BenchmarkVersusVips(b *testing.B) {
	ins := inputs(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var paths []string
		for _, in := range ins {
			paths = append(paths, in.path)
		}
		child := exec.Command(self)
		child.Env = append(os.Environ(), childEnv+"="+joinList(paths))
		stdin, err := child.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := child.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		replies := json.NewDecoder(stdout)
		type side struct {
			nanos int64
			peak  int64 // KB
		}
		ours, theirs := make([]side, len(ins)), make([]side, len(ins))
		out := filepath.Join(b.TempDir(), "vips.jpg")
		for range rounds {
			for i, in := range ins {
				fmt.Fprintln(stdin, i)
				var rep childReport
				if err := replies.Decode(&rep); err != nil {
					b.Fatalf("child: %v", err)
				}
				if rep.Error != "" {
					b.Fatalf("%s: %s", in.name, rep.Error)
				}
				ours[i].nanos += rep.Nanos

				// The same final encode by the vips command.
				r := rep.Record
				opts := fmt.Sprintf("[Q=%d,strip,subsample-mode=on]", r.Quality)
				args := []string{"copy", in.path, out + opts}
				if r.WidthAfter != r.WidthBefore || r.HeightAfter != r.HeightBefore {
					args = []string{"thumbnail", in.path, out + opts, strconv.Itoa(r.WidthAfter), "--height", strconv.Itoa(r.HeightAfter), "--size", "force"}
				}
				cmd := exec.Command("vips", args...)
				start := time.Now()
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("vips %v: %v: %s", args, err, msg)
				}
				theirs[i].nanos += time.Since(start).Nanoseconds()
				theirs[i].peak = max(theirs[i].peak, maxRSS(cmd.ProcessState))
				if fi, err := os.Stat(out); err != nil || fi.Size() != r.BytesAfter {
					b.Logf("%s: vips wrote %v bytes at Q=%d, the converter %d", in.name, fi.Size(), r.Quality, r.BytesAfter)
				}
			}
		}
		stdin.Close()
		if err := child.Wait(); err != nil {
			b.Fatalf("child: %v", err)
		}
		peak := maxRSS(child.ProcessState)
		var oursAll, theirsAll int64
		for i, in := range ins {
			oursAll += ours[i].nanos
			theirsAll += theirs[i].nanos
			o := float64(rounds) / (float64(ours[i].nanos) / 1e9)
			t := float64(rounds) / (float64(theirs[i].nanos) / 1e9)
			b.ReportMetric(o/t, in.name+"-speed-ratio")
			b.Logf("%-10s ours %.2f conv/s, vips %.2f conv/s: ratio %.2f; vips peak RSS %d MB", in.name, o, t, o/t, theirs[i].peak>>10)
		}
		var theirPeak int64
		for _, s := range theirs {
			theirPeak = max(theirPeak, s.peak)
		}
		b.ReportMetric(float64(theirsAll)/float64(oursAll), "speed-ratio")
		b.ReportMetric(float64(peak)/float64(theirPeak), "peak-rss-ratio")
		b.Logf("all: ours %.2f s, vips %.2f s (speed ratio %.2f); peak RSS ours %d MB (one process, every file), vips %d MB (largest one file)",
			float64(oursAll)/1e9, float64(theirsAll)/1e9, float64(theirsAll)/float64(oursAll), peak>>10, theirPeak>>10)
	}
}

func joinList(paths []string) string {
	var b bytes.Buffer
	for i, p := range paths {
		if i > 0 {
			b.WriteRune(filepath.ListSeparator)
		}
		b.WriteString(p)
	}
	return b.String()
}

// maxRSS is a finished process's peak resident set, in KB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

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
	"strings"
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
//   - jpeg-24mp: 6000x4000, Go's encoder at quality 95, 7.6 MB:
//     re-encoded under 5 MB, the quality search at work;
//   - heic-12mp: 4000x3000 from heif-enc at quality 90;
//   - webp-12mp: 4000x3000 from the vips command at quality 90.
//
// BenchmarkConvert measures conversions in this process. BenchmarkVersusVips
// puts them next to the vips command doing the same final encode of the
// same file (same quality and size, 4:2:0, metadata stripped): for each
// input a child process (this test binary, see TestMain) converts it and
// the vips command encodes it, turn about, three times each; each side's
// throughput and peak RSS (through a small measuring wrapper) are
// reported with their ratios. The vips command pays its start-up on every
// file, the child once, as a worker does.

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

// Environment of the bench's child processes.
const (
	// childEnv names the input files of a converting child process.
	childEnv = "CONVERT_BENCH_CHILD_FILES"
	// measureEnv asks for a measuring wrapper: it runs the command in
	// measureArgsEnv (a JSON array) with its own stdin and stdout, and
	// writes the command's peak RSS in KB to the file measureEnv names.
	measureEnv     = "CONVERT_BENCH_MEASURE"
	measureArgsEnv = "CONVERT_BENCH_MEASURE_ARGS"
)

// TestMain runs the bench's child processes when asked to, and removes
// the bench inputs after a run.
func TestMain(m *testing.M) {
	if out := os.Getenv(measureEnv); out != "" {
		os.Exit(measure(out, os.Getenv(measureArgsEnv)))
	}
	if files := os.Getenv(childEnv); files != "" {
		os.Exit(benchChild(filepath.SplitList(files)))
	}
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// measure is the measuring wrapper. Peak RSS has to be taken this way:
// Go starts a process with vfork, and Linux counts the parent's resident
// pages, until the exec, in the new process's peak; a benchmark holding
// its inputs in memory would inflate every figure. This wrapper is small
// when it starts the command (its floor is reported as "wrapper").
func measure(out, args string) int {
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "measure: bad arguments", args)
		return 2
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, measureEnv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		return 2
	}
	if werr := os.WriteFile(out, []byte(strconv.FormatInt(maxRSS(cmd.ProcessState), 10)), 0o600); werr != nil {
		fmt.Fprintln(os.Stderr, "measure:", werr)
		return 2
	}
	return cmd.ProcessState.ExitCode()
}

// measured returns a command running argv under the measuring wrapper,
// and a function reading the peak RSS (KB) once it has finished.
func measured(b *testing.B, argv ...string) (*exec.Cmd, func() int64) {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	args, err := json.Marshal(argv)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.CreateTemp(b.TempDir(), "rss-")
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), measureEnv+"="+f.Name(), measureArgsEnv+"="+string(args))
	return cmd, func() int64 {
		raw, err := os.ReadFile(f.Name())
		if err != nil {
			b.Fatal(err)
		}
		kb, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			b.Fatalf("peak RSS file: %q: %v", raw, err)
		}
		return kb
	}
}

// childReport is one conversion of the child, on its stdout.
type childReport struct {
	Nanos  int64          `json:"nanos"`
	Record convert.Record `json:"record"`
	Error  string         `json:"error,omitempty"`
}

// benchChild reads lines of comma-separated indexes from stdin and
// converts the files they name, all of a line's at once (the converter's
// default Concurrency, 2, lets two run together), reporting each
// conversion as JSON on stdout, in the line's order.
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
		var idx []int
		for _, f := range strings.Split(in.Text(), ",") {
			i, err := strconv.Atoi(f)
			if err != nil || i < 0 || i >= len(files) {
				fmt.Fprintln(os.Stderr, "bad index", f)
				return 1
			}
			idx = append(idx, i)
		}
		reps := make([]childReport, len(idx))
		var wg sync.WaitGroup
		for k, i := range idx {
			wg.Go(func() { reps[k] = convertOnce(c, files[i]) })
		}
		wg.Wait()
		for _, rep := range reps {
			if err := enc.Encode(rep); err != nil {
				return 1
			}
		}
	}
	return 0
}

func convertOnce(c *convert.Converter, path string) childReport {
	var rep childReport
	start := time.Now()
	f, err := os.Open(path)
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
	return rep
}

// BenchmarkTwoAtOnce reports the peak RSS of a process converting the
// 24 MP JPEG and the 12 MP HEIC at the same time, twice: what two
// conversion slots cost a worker.
func BenchmarkTwoAtOnce(b *testing.B) {
	ins := inputs(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	paths := map[string]string{}
	for _, in := range ins {
		paths[in.name] = in.path
	}
	for b.Loop() {
		child, childRSS := measured(b, self)
		child.Env = append(child.Env, childEnv+"="+paths["jpeg-24mp"]+string(filepath.ListSeparator)+paths["heic-12mp"])
		child.Stdin = strings.NewReader("0,1\n0,1\n")
		out, err := child.Output()
		if err != nil {
			b.Fatalf("child: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for range 4 {
			var rep childReport
			if err := dec.Decode(&rep); err != nil || rep.Error != "" {
				b.Fatalf("child: %v %s", err, rep.Error)
			}
		}
		peak := childRSS()
		b.ReportMetric(float64(peak>>10), "peak-MB")
		b.Logf("two conversions at once (24 MP JPEG and 12 MP HEIC), twice: peak RSS %d MB", peak>>10)
	}
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
		floorCmd, floorRSS := measured(b, "true")
		if msg, err := floorCmd.CombinedOutput(); err != nil {
			b.Fatalf("wrapper: %v: %s", err, msg)
		}
		var oursAll, theirsAll, oursPeak, theirsPeak int64
		for _, in := range ins {
			ours, theirs := versusVips(b, self, in)
			o := float64(rounds) / (float64(ours.nanos) / 1e9)
			t := float64(rounds) / (float64(theirs.nanos) / 1e9)
			b.ReportMetric(o/t, in.name+"-speed-ratio")
			b.ReportMetric(float64(ours.peak)/float64(theirs.peak), in.name+"-rss-ratio")
			b.Logf("%-10s (%5.1f MB): %.2f conv/s, the vips command %.2f: speed ratio %.2f; peak RSS %d MB, the vips command %d MB: ratio %.2f",
				in.name, float64(in.size)/1e6, o, t, o/t, ours.peak>>10, theirs.peak>>10, float64(ours.peak)/float64(theirs.peak))
			oursAll, theirsAll = oursAll+ours.nanos, theirsAll+theirs.nanos
			oursPeak, theirsPeak = max(oursPeak, ours.peak), max(theirsPeak, theirs.peak)
		}
		b.ReportMetric(float64(theirsAll)/float64(oursAll), "speed-ratio")
		b.ReportMetric(float64(oursPeak)/float64(theirsPeak), "peak-rss-ratio")
		b.Logf("all: %.1f s, the vips command %.1f s: speed ratio %.2f; largest peak RSS %d MB, the vips command %d MB (the measuring wrapper's floor: %d MB)",
			float64(oursAll)/1e9, float64(theirsAll)/1e9, float64(theirsAll)/float64(oursAll), oursPeak>>10, theirsPeak>>10, floorRSS()>>10)
	}
}

// side is one side's total time and peak RSS (KB) over the rounds.
type side struct{ nanos, peak int64 }

// versusVips converts in rounds times in a child process, turn about with
// the vips command doing the same final encode.
func versusVips(b *testing.B, self string, in benchInput) (ours, theirs side) {
	b.Helper()
	child, childRSS := measured(b, self)
	child.Env = append(child.Env, childEnv+"="+in.path)
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
	out := filepath.Join(b.TempDir(), "vips.jpg")
	for range rounds {
		fmt.Fprintln(stdin, 0)
		var rep childReport
		if err := replies.Decode(&rep); err != nil {
			b.Fatalf("child: %v", err)
		}
		if rep.Error != "" {
			b.Fatalf("%s: %s", in.name, rep.Error)
		}
		ours.nanos += rep.Nanos

		r := rep.Record
		opts := fmt.Sprintf("[Q=%d,strip,subsample-mode=on]", r.Quality)
		args := []string{"vips", "copy", in.path, out + opts}
		if r.WidthAfter != r.WidthBefore || r.HeightAfter != r.HeightBefore {
			args = []string{"vips", "thumbnail", in.path, out + opts, strconv.Itoa(r.WidthAfter), "--height", strconv.Itoa(r.HeightAfter), "--size", "force"}
		}
		cmd, rss := measured(b, args...)
		start := time.Now()
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v: %s", args, err, msg)
		}
		theirs.nanos += time.Since(start).Nanoseconds()
		theirs.peak = max(theirs.peak, rss())
		if fi, err := os.Stat(out); err != nil || fi.Size() != r.BytesAfter {
			b.Logf("%s: the vips command wrote %v bytes at Q=%d, the converter %d", in.name, fi.Size(), r.Quality, r.BytesAfter)
		}
	}
	stdin.Close()
	if err := child.Wait(); err != nil {
		b.Fatalf("child: %v", err)
	}
	ours.peak = childRSS()
	return ours, theirs
}

// maxRSS is a finished process's peak resident set, in KB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
	"github.com/storemedia/alipay-media-worker/internal/testproc"
	"github.com/storemedia/alipay-media-worker/tasks"
)

// Defaults of the convert scenario (issue 18): 16 HEIC and 16 JPEG photos
// of 24 megapixels, a worker uploading 8 at once.
const (
	DefaultConvertFiles       = 16
	DefaultConvertConcurrency = 8
)

// Goals of the convert scenario: the worker's conversions at least 0.7x
// as fast as the vips command doing the same final encodes, and the
// worker's peak RSS at most 300 MB (300,000,000 bytes).
const (
	GoalConvertSpeed = 0.7
	GoalConvertRSS   = 300_000_000
)

// Size of the scenario's photos: 24 megapixels, as a phone takes them.
const convertW, convertH = 6000, 4000

// ConvertInput is one kind of input of the convert scenario.
type ConvertInput struct {
	Kind  string // "heic" or "jpeg"
	Files int
	Bytes int64 // the size of each file (they differ by a few bytes)
	// VipsWall is the vips command's time for the kind's files, one
	// process per file, one at a time; VipsPeakRSS its largest process.
	VipsWall    time.Duration
	VipsPeakRSS int64
	// Quality and the pixel size the worker sent (of the first file; all
	// of a kind have the same pixels).
	Quality                 int
	WidthAfter, HeightAfter int
	BytesAfter              int64
}

// ConvertResult is the outcome of the convert scenario.
type ConvertResult struct {
	// Unavailable says why the scenario did not run (no worker built
	// with -tags vips, no vips command); the rest is then zero.
	Unavailable string
	Inputs      []ConvertInput
	Concurrency int // WORKER_CONCURRENCY
	// Wall is the pipeline's time: from the start of `enqueue --convert
	// --wait` over every file to its exit (every file converted and
	// uploaded).
	Wall time.Duration
	// VipsWall is the vips command's time for every file.
	VipsWall time.Duration
	// WorkerPeakRSS is the worker's VmHWM at the end; VipsPeakRSS the
	// largest vips process's.
	WorkerPeakRSS, VipsPeakRSS int64
}

// Files is the number of files converted.
func (c *ConvertResult) Files() int {
	n := 0
	for _, in := range c.Inputs {
		n += in.Files
	}
	return n
}

// Rate is the pipeline's conversions per second; VipsRate the command's.
func (c *ConvertResult) Rate() float64     { return float64(c.Files()) / c.Wall.Seconds() }
func (c *ConvertResult) VipsRate() float64 { return float64(c.Files()) / c.VipsWall.Seconds() }

// SpeedRatio is the pipeline's conversions per second over the command's.
func (c *ConvertResult) SpeedRatio() float64 { return c.VipsWall.Seconds() / c.Wall.Seconds() }

// convertScenario makes the photos, converts and uploads them through a
// worker built with -tags vips, then has the vips command do the same
// final encodes.
func (r *runner) convertScenario(ctx context.Context) (*ConvertResult, error) {
	res := &ConvertResult{Concurrency: r.cfg.ConvertConcurrency}
	if r.cfg.ConvertWorkerBin == "" {
		res.Unavailable = "no worker built with -tags vips (" + r.cfg.ConvertUnavailable + ")"
		return res, nil
	}
	if _, err := exec.LookPath("vips"); err != nil {
		res.Unavailable = "the vips command is not installed (Debian's libvips-tools; make deps installs it)"
		return res, nil
	}
	dir := filepath.Join(r.dir, "files", "convert")
	r.log.Info("writing photos", "heic", r.cfg.ConvertFiles, "jpeg", r.cfg.ConvertFiles, "pixels", convertW*convertH)
	paths, err := writeConvertInputs(dir, r.cfg.ConvertFiles)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, kind := range []string{"heic", "jpeg"} {
		fi, err := os.Stat(paths[kind][0])
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		res.Inputs = append(res.Inputs, ConvertInput{Kind: kind, Files: len(paths[kind]), Bytes: fi.Size()})
	}

	records, err := r.convertPipeline(ctx, dir, res)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(r.dir, "vips-out.jpg")
	for i := range res.Inputs {
		in := &res.Inputs[i]
		for k, p := range paths[in.Kind] {
			rec, ok := records[p]
			if !ok {
				return nil, fmt.Errorf("bench: no conversion record for %s", p)
			}
			if k == 0 {
				in.Quality, in.WidthAfter, in.HeightAfter, in.BytesAfter = rec.Quality, rec.WidthAfter, rec.HeightAfter, rec.BytesAfter
			}
			wall, rss, err := vipsEncode(ctx, p, out, rec)
			if err != nil {
				return nil, err
			}
			in.VipsWall += wall
			in.VipsPeakRSS = max(in.VipsPeakRSS, rss)
		}
		res.VipsWall += in.VipsWall
		res.VipsPeakRSS = max(res.VipsPeakRSS, in.VipsPeakRSS)
	}
	r.log.Info("measured convert", "files", res.Files(), "wall", res.Wall, "vips_wall", res.VipsWall,
		"speed_ratio", res.SpeedRatio(), "worker_rss_mb", float64(res.WorkerPeakRSS)/1e6)
	return res, nil
}

// conversionRecord is what the bench reads of a task's result.
type conversionRecord struct {
	Quality                   int
	WidthBefore, HeightBefore int
	WidthAfter, HeightAfter   int
	BytesAfter                int64
}

// convertPipeline starts an idle converting worker, runs enqueue
// --convert --wait over dir, and returns each file's conversion record.
func (r *runner) convertPipeline(ctx context.Context, dir string, res *ConvertResult) (map[string]conversionRecord, error) {
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	w := testproc.NewWorker("convert-worker", r.cfg.ConvertWorkerBin, testproc.WorkerConfig{
		RedisURL: r.cfg.RedisURL, GatewayURL: r.gw.URL, Keys: r.files, MediaRoot: r.dir,
		Env: []string{"WORKER_CONCURRENCY=" + strconv.Itoa(res.Concurrency), "UPLOAD_CONVERT=on",
			"ALIPAY_TIMEOUT=" + r.cfg.Timeout.String(), "LOG_LEVEL=warn"},
	})
	if err := w.Start(); err != nil {
		return nil, err
	}
	defer w.Kill()
	if err := r.waitServer(w); err != nil {
		return nil, err
	}
	n := res.Files()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout+time.Duration(n)*30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.cfg.EnqueueBin, "--convert", "--wait", "--progress", "none",
		"--redis-url", r.cfg.RedisURL, "--media-roots", r.dir, dir)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	res.Wall = time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("bench: enqueue --convert --wait: %w: %s (worker log:\n%s)", err, out, w.Log())
	}
	if !strings.Contains(string(out), fmt.Sprintf(" %d completed", n)) {
		return nil, fmt.Errorf("bench: enqueue --convert --wait did not complete the %d files: %s", n, out)
	}
	if res.WorkerPeakRSS, err = w.PeakRSS(); err != nil {
		return nil, err
	}
	r.log.Info("converted through the worker", "files", n, "wall", res.Wall, "worker_rss_mb", float64(res.WorkerPeakRSS)/1e6)
	infos, err := r.insp.ListCompletedTasks(tasks.QueueDefault, asynq.PageSize(n+1))
	if err != nil {
		return nil, fmt.Errorf("bench: listing the completed conversions: %w", err)
	}
	records := map[string]conversionRecord{}
	for _, ti := range infos {
		var p tasks.UploadPayload
		var got tasks.Result
		if err := errors.Join(json.Unmarshal(ti.Payload, &p), json.Unmarshal(ti.Result, &got)); err != nil {
			return nil, fmt.Errorf("bench: task %s: %w", ti.ID, err)
		}
		if got.Converted == nil {
			return nil, fmt.Errorf("bench: %s was sent without conversion", p.Path)
		}
		c := got.Converted
		records[p.Path] = conversionRecord{Quality: c.Quality, WidthBefore: c.WidthBefore, HeightBefore: c.HeightBefore,
			WidthAfter: c.WidthAfter, HeightAfter: c.HeightAfter, BytesAfter: c.BytesAfter}
	}
	if err := w.Term(time.Minute); err != nil {
		return nil, fmt.Errorf("bench: worker shutdown: %w", err)
	}
	return records, nil
}

// vipsEncode has the vips command do the final encode the worker did of
// path (same quality, pixel size and orientation, 4:2:0, metadata
// stripped) and returns its wall time and peak RSS.
func vipsEncode(ctx context.Context, path, out string, rec conversionRecord) (time.Duration, int64, error) {
	opts := fmt.Sprintf("[Q=%d,strip,subsample-mode=on]", rec.Quality)
	args := []string{"copy", path, out + opts}
	if rec.WidthAfter != rec.WidthBefore || rec.HeightAfter != rec.HeightBefore {
		// thumbnail applies the EXIF orientation, then resizes to exactly
		// the size sent.
		args = []string{"thumbnail", path, out + opts, strconv.Itoa(rec.WidthAfter), "--height", strconv.Itoa(rec.HeightAfter), "--size", "force"}
	}
	cmd := exec.CommandContext(ctx, "vips", args...)
	var msg strings.Builder
	cmd.Stdout, cmd.Stderr = &msg, &msg
	wall, rss, err := runWatched(cmd)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: vips %s: %w: %s", strings.Join(args, " "), err, msg.String())
	}
	return wall, rss, nil
}

// writeConvertInputs writes n HEIC and n JPEG photos of 24 megapixels
// into dir: a camera-like picture ([mediagen.Photo], grain 8) as a HEIC
// from heif-enc at quality 90 (about 18 MB) and as a JPEG at quality 95
// with EXIF orientation 6 (upright only once turned, as a phone held
// upright writes it; about 15 MB). Each copy differs from the others in
// a few bytes the decoders skip (a `free` box after the HEIC's boxes, a
// comment segment in the JPEG), so that each is a job of its own.
func writeConvertInputs(dir string, n int) (map[string][]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	img := mediagen.Photo(convertW, convertH, 18, 8)
	heic, err := mediagen.HEIC(img, 90)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	jpg, err := mediagen.CameraJPEG(img, 95, mediagen.EXIF{Orientation: 6, Make: "bench"})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// The comment goes after the EXIF segment, which must follow the
	// start-of-image marker.
	exifEnd := 4 + int(binary.BigEndian.Uint16(jpg[4:6]))
	paths := map[string][]string{}
	for i := range n {
		tag := fmt.Sprintf("alipay-media-worker bench photo %d", i)
		free := binary.BigEndian.AppendUint32(nil, uint32(8+len(tag)))
		free = append(append(free, "free"...), tag...)
		com := binary.BigEndian.AppendUint16([]byte{0xFF, 0xFE}, uint16(2+len(tag)))
		com = append(com, tag...)
		files := map[string][]byte{
			"heic": append(append([]byte{}, heic...), free...),
			"jpeg": append(append(append([]byte{}, jpg[:exifEnd]...), com...), jpg[exifEnd:]...),
		}
		for kind, data := range files {
			p := filepath.Join(dir, fmt.Sprintf("%s-%02d.%s", kind, i, kind))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			paths[kind] = append(paths[kind], p)
		}
	}
	return paths, nil
}

// table is the convert table: one row per kind of input and one for all.
func (c *ConvertResult) table() (header []string, rows [][]string) {
	header = []string{"input", "files", "size each", "sent (first file)", "worker conv/s", "`vips` conv/s", "speed ratio", "`vips` peak RSS", "worker peak RSS"}
	for _, in := range c.Inputs {
		rows = append(rows, []string{strings.ToUpper(in.Kind) + " 24 MP", strconv.Itoa(in.Files), fmt.Sprintf("%.1f MB", float64(in.Bytes)/1e6),
			fmt.Sprintf("%dx%d, Q%d, %.2f MB", in.WidthAfter, in.HeightAfter, in.Quality, float64(in.BytesAfter)/1e6),
			"", fmt.Sprintf("%.2f", float64(in.Files)/in.VipsWall.Seconds()), "", mb(in.VipsPeakRSS), ""})
	}
	rows = append(rows, []string{"all, through the worker", strconv.Itoa(c.Files()), "", "",
		fmt.Sprintf("%.2f", c.Rate()), fmt.Sprintf("%.2f", c.VipsRate()), fmt.Sprintf("%.2fx", c.SpeedRatio()),
		mb(c.VipsPeakRSS), mbMiB(c.WorkerPeakRSS)})
	return header, rows
}

// intro explains the convert table.
func (c *ConvertResult) intro() string {
	if c.Unavailable != "" {
		return "Conversion is unavailable in this run: " + c.Unavailable + "."
	}
	return fmt.Sprintf("A cmd/worker built with `-tags vips` (`WORKER_CONCURRENCY=%d`, `UPLOAD_CONVERT=on`, the other "+
		"conversion settings at their defaults) converts and uploads every photo of one `enqueue --convert --wait` "+
		"(HEIC and JPEG files mixed, queued at once); worker conv/s is the files over that process's wall time, "+
		"uploads included. Then the `vips` command does the same final encode of each file (the quality and pixel "+
		"size the worker sent, 4:2:0, metadata stripped; `vips copy`, or `vips thumbnail` when the photo was turned "+
		"or resized), one process per file, one at a time; its conv/s is the files over the sum of their wall "+
		"times. Worker peak RSS: its VmHWM after the run; `vips` peak RSS: the largest process; MB = 10^6 bytes.", c.Concurrency)
}

// verdicts are the convert goal lines.
func (c *ConvertResult) verdicts() []string {
	if c == nil {
		return nil
	}
	if c.Unavailable != "" {
		return []string{"conversion: not measured (" + c.Unavailable + ")"}
	}
	state := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	return []string{
		fmt.Sprintf("conversion speed, the worker against the vips command: %.2fx (goal >= %.1fx): %s",
			c.SpeedRatio(), GoalConvertSpeed, state(c.SpeedRatio() >= GoalConvertSpeed)),
		fmt.Sprintf("converting worker's peak RSS (WORKER_CONCURRENCY=%d, 24 MP HEIC and JPEG): %s (goal <= %s): %s",
			c.Concurrency, mbMiB(c.WorkerPeakRSS), mb(GoalConvertRSS), state(c.WorkerPeakRSS <= GoalConvertRSS)),
	}
}

package convert

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/storemedia/alipay-media-worker/validate"
)

// Defaults of [Config].
const (
	// DefaultMaxInputBytes is the largest file accepted for conversion: 50
	// MiB (52,428,800 bytes).
	DefaultMaxInputBytes int64 = 50 << 20
	// DefaultMaxInputPixels is the most pixels a header may declare: 64
	// million, above the 48 and 50 megapixel phone cameras. Decoding one
	// such photo takes about 3 bytes a pixel.
	DefaultMaxInputPixels int64 = 64_000_000
	// DefaultMinQuality is the lowest JPEG quality a conversion uses
	// before it starts to downscale.
	DefaultMinQuality = 80
	// DefaultMaxQuality is the highest JPEG quality tried: above it files
	// grow fast with no visible gain.
	DefaultMaxQuality = 95
	// DefaultConcurrency is how many conversions run at once.
	DefaultConcurrency = 2
	// DefaultScratchBytes is the scratch space budget: 64 MiB, room for a
	// dozen converted photos at the 5 MiB limit.
	DefaultScratchBytes int64 = 64 << 20
	// DefaultMaxMemory is the memory budget of the conversions running at
	// once: 224 MiB, room for two 24-megapixel JPEGs of 15 MB (about 111
	// MB each by [Config.MaxMemory]'s estimate) but not for a 24-megapixel
	// HEIC or WebP (about 210 MB) beside anything else.
	DefaultMaxMemory int64 = 224 << 20
)

// Bytes a pixel a conversion holds at its peak, beyond the input's bytes,
// by type: for a JPEG, the decoded 8-bit RGB photo (3) plus the encoder's
// buffers; libheif also holds the decoded YCbCr planes, its HEVC decoder's
// state and an RGB copy while it hands the photo to libvips, and libwebp
// a decoded copy of its own. Measured in one process converting one photo
// of 24 megapixels: a JPEG peaks about 110 MB above the process's floor
// (while it decodes, its input still held), a HEIC from heif-enc about 180
// MB (while libheif decodes it), a WebP about 200 MB.
const (
	bytesPerPixel        = 4
	decoderBytesPerPixel = 8 // HEIC/HEIF and WebP
)

// footprint estimates the most memory one conversion of a file of size
// bytes, from, declaring pixels pixels, holds at once.
func footprint(from string, size, pixels int64) int64 {
	per := int64(bytesPerPixel)
	if from == "heif" || from == "webp" {
		per = decoderBytesPerPixel
	}
	return size + pixels*per
}

// Why a file is converted, in [Record.Why].
const (
	// WhyType: the type is not accepted (HEIC/HEIF, WebP).
	WhyType = "type"
	// WhyBytes: a JPEG over the size limit.
	WhyBytes = "bytes"
	// WhyPixels: a JPEG over Config.MaxPixels.
	WhyPixels = "pixels"
)

// Config configures a [Converter]. The zero value is ready to use: the
// 5 MiB limit from validate, qualities 80 to 95, metadata stripped, two
// conversions at once, 64 MiB of scratch space under os.TempDir().
type Config struct {
	// MaxBytes is the largest output and the size over which a JPEG is
	// re-encoded. Default (0): [validate.DefaultMaxSize].
	MaxBytes int64
	// MaxPixels, when set, is the most pixels an output may have: a JPEG
	// with more is re-encoded (downscaled) even when small enough in bytes,
	// and converted photos are downscaled to it. Default (0): no pixel
	// limit; files are downscaled only when quality alone cannot fit them.
	MaxPixels int64
	// MaxInputBytes refuses larger files before reading them. Default (0):
	// [DefaultMaxInputBytes].
	MaxInputBytes int64
	// MaxInputPixels refuses a file whose header declares more pixels,
	// before anything is decoded. Default (0): [DefaultMaxInputPixels].
	MaxInputPixels int64
	// MinQuality and MaxQuality bound the JPEG quality, 1 to 100. The
	// largest quality in the range whose file fits is used; when even
	// MinQuality does not fit, the photo is downscaled and encoded at
	// MinQuality. Defaults (0): [DefaultMinQuality], [DefaultMaxQuality].
	MinQuality, MaxQuality int
	// KeepEXIF names EXIF tags copied to the output, as libexif names them
	// ("Make", "Model", "DateTimeOriginal"). Everything else goes: GPS
	// position, serial numbers, maker notes, XMP, IPTC, the ICC profile
	// (the pixels are sRGB). Listing a GPS tag keeps it. Default (empty):
	// no metadata at all.
	KeepEXIF []string
	// Concurrency is how many conversions run at once; Convert waits for
	// a free slot. Default (0): [DefaultConcurrency].
	Concurrency int
	// ScratchDir is where New creates its scratch directory. Default
	// (""): os.TempDir().
	ScratchDir string
	// ScratchBytes is the most converted bytes kept at once; Convert waits
	// for space when the budget is spent. At least MaxBytes. Default (0):
	// [DefaultScratchBytes].
	ScratchBytes int64
	// MaxMemory bounds the memory of the conversions running at once, by
	// an estimate made from each photo's header before any pixel is
	// decoded: the input's bytes plus 4 bytes a pixel for JPEG, 8 for
	// HEIC/HEIF and WebP, whose decoders hold more. A conversion waits, within its slot,
	// until its estimate fits beside the others'; one estimated over
	// MaxMemory runs when no other does. Default (0): [DefaultMaxMemory].
	MaxMemory int64
}

// withDefaults fills the zero fields and checks the rest.
func (cfg Config) withDefaults() (Config, error) {
	fill := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	fill(&cfg.MaxBytes, validate.DefaultMaxSize)
	fill(&cfg.MaxInputBytes, DefaultMaxInputBytes)
	fill(&cfg.MaxInputPixels, DefaultMaxInputPixels)
	fill(&cfg.ScratchBytes, DefaultScratchBytes)
	fill(&cfg.MaxMemory, DefaultMaxMemory)
	cfg.MinQuality = cmp.Or(cfg.MinQuality, DefaultMinQuality)
	cfg.MaxQuality = cmp.Or(cfg.MaxQuality, max(DefaultMaxQuality, cfg.MinQuality))
	cfg.Concurrency = cmp.Or(cfg.Concurrency, DefaultConcurrency)
	var bad []string
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxBytes", cfg.MaxBytes}, {"MaxPixels", cfg.MaxPixels}, {"MaxInputBytes", cfg.MaxInputBytes},
		{"MaxInputPixels", cfg.MaxInputPixels}, {"ScratchBytes", cfg.ScratchBytes}, {"Concurrency", int64(cfg.Concurrency)},
		{"MaxMemory", cfg.MaxMemory},
	} {
		if f.v < 0 {
			bad = append(bad, fmt.Sprintf("%s is %d; use 0 for the default or a positive number", f.name, f.v))
		}
	}
	if cfg.MinQuality < 1 || cfg.MinQuality > 100 || cfg.MaxQuality < 1 || cfg.MaxQuality > 100 || cfg.MinQuality > cfg.MaxQuality {
		bad = append(bad, fmt.Sprintf("qualities %d to %d: use 1 <= MinQuality <= MaxQuality <= 100", cfg.MinQuality, cfg.MaxQuality))
	}
	if cfg.ScratchBytes > 0 && cfg.ScratchBytes < cfg.MaxBytes {
		bad = append(bad, fmt.Sprintf("ScratchBytes %d is below MaxBytes %d: one converted file would never fit", cfg.ScratchBytes, cfg.MaxBytes))
	}
	for _, t := range cfg.KeepEXIF {
		if t == "" || strings.ContainsAny(t, " -") {
			bad = append(bad, fmt.Sprintf("KeepEXIF: %q is not an EXIF tag name such as \"Make\" or \"DateTimeOriginal\"", t))
		}
	}
	if len(bad) > 0 {
		return cfg, fmt.Errorf("convert: Config: %s", strings.Join(bad, "; "))
	}
	return cfg, nil
}

// Available reports whether this build can convert (it was built with the
// vips build tag, linking libvips). Without it, conversions fail with
// [ErrUnavailable] while the decisions that need no decoding (not needed,
// not convertible, too large) are made as usual.
func Available() bool { return available }

// Converter turns photos Alipay refuses into JPEGs it accepts. Build it
// with [New]; it is safe for concurrent use.
type Converter struct {
	cfg     Config
	slots   chan struct{}
	memory  *memBudget
	scratch *scratch
}

// New checks cfg and creates the scratch directory. Close the Converter
// to remove it.
func New(cfg Config) (*Converter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := newScratch(cfg.ScratchDir, cfg.ScratchBytes)
	if err != nil {
		return nil, err
	}
	return &Converter{cfg: cfg, slots: make(chan struct{}, cfg.Concurrency), memory: &memBudget{limit: cfg.MaxMemory}, scratch: s}, nil
}

// Close removes the scratch directory with any converted file still in
// it. Results not yet removed become unreadable.
func (c *Converter) Close() error { return c.scratch.close() }

// Record says what a conversion did, for task results and manifests.
type Record struct {
	// From is the original's type, as validate names it: "heif", "webp"
	// or "jpg".
	From string `json:"from"`
	// To is the type sent: "jpg".
	To string `json:"to"`
	// Why is one of WhyType, WhyBytes, WhyPixels.
	Why string `json:"why"`
	// BytesBefore and BytesAfter are the sizes of the original and of the
	// converted file.
	BytesBefore int64 `json:"bytes_before"`
	BytesAfter  int64 `json:"bytes_after"`
	// Quality is the JPEG quality of the converted file.
	Quality int `json:"quality"`
	// WidthBefore and HeightBefore are the original's pixel size as
	// stored; WidthAfter and HeightAfter the converted file's, after EXIF
	// orientation was applied (so a portrait photo stored sideways swaps
	// them) and any downscale.
	WidthBefore  int `json:"width_before"`
	HeightBefore int `json:"height_before"`
	WidthAfter   int `json:"width_after"`
	HeightAfter  int `json:"height_after"`
	// SHA256 is the hex SHA-256 of the converted file.
	SHA256 string `json:"sha256"`
	// SourceSHA256 is the hex SHA-256 of the original, of the
	// BytesBefore bytes read to convert it: what a caller compares with
	// the hash it recorded for the original (a task's, at enqueue time),
	// without reading the file a second time.
	SourceSHA256 string `json:"source_sha256"`
}

// Result is a converted file in the scratch space. Read it with Open and
// give its space back with Remove once the attempt is over.
type Result struct {
	Record
	path    string
	scratch *scratch
	once    sync.Once
	err     error
}

// Path returns the converted file's path, inside the scratch directory.
func (r *Result) Path() string { return r.path }

// Open opens the converted file for reading.
func (r *Result) Open() (*os.File, error) { return os.Open(r.path) }

// Remove deletes the converted file and returns its bytes to the scratch
// budget. Calling it again does nothing.
func (r *Result) Remove() error {
	r.once.Do(func() { r.err = r.scratch.release(r.path, r.BytesAfter) })
	return r.err
}

// Convert decides whether the file of the given size read from r must be
// converted, and converts it:
//
//   - HEIC/HEIF and WebP become JPEG;
//   - a JPEG over MaxBytes (or over MaxPixels, when set) is re-encoded;
//   - any other acceptable file gives [ErrNotNeeded]: send it unchanged;
//   - PNG, GIF, BMP and MP4 over MaxBytes, and types the converter does
//     not read, give an [*Error] with [ReasonNotConvertible].
//
// A conversion applies the EXIF orientation, converts colour to sRGB,
// flattens transparency onto white, strips metadata (see
// Config.KeepEXIF), and encodes the largest quality from MinQuality to
// MaxQuality whose file fits in MaxBytes, downscaling only when MinQuality
// does not fit. The header is checked against MaxInputPixels before any
// pixel is decoded.
//
// Convert waits for one of Config.Concurrency slots, then, once the
// header is read, for its share of Config.MaxMemory, then for scratch
// space, all as long as ctx allows. Refusals are [*Error] values and
// permanent; without libvips conversions fail with [ErrUnavailable]; read
// errors and ctx's error come back wrapped.
func (c *Converter) Convert(ctx context.Context, r io.ReaderAt, size int64) (*Result, error) {
	j, err := c.plan(r, size)
	if err != nil {
		return nil, err
	}
	if !available {
		return nil, fmt.Errorf("convert: %s of %d bytes: %w", typeName(j.from), size, ErrUnavailable)
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("convert: waiting for a conversion slot: %w", ctx.Err())
	}
	// The memory budget is given back last, once the decoded images (at
	// the end of transcode) and the input are freed.
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	out, rec, srcSum, err := c.transcodeWithin(ctx, r, size, j, &release)
	if err != nil {
		return nil, err
	}
	path, err := c.scratch.write(ctx, out)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(out)
	// The encodes of the quality search went through the Go heap (5 MB
	// each at 24 megapixels); collect them now and give the pages back,
	// rather than let the heap grow to twice what is live, beside the
	// next conversion's decoded photo. In the bench's worker converting
	// 24-megapixel HEICs and JPEGs, this lowered the RSS sampled through
	// the run by 10 to 15 MiB (median 175 to 160 MiB, 90th percentile 227
	// to 216), though not the peak, which comes while libheif decodes a
	// HEIC.
	debug.FreeOSMemory()
	rec.From, rec.To = j.from, "jpg"
	rec.BytesBefore, rec.BytesAfter = size, int64(len(out))
	rec.SHA256, rec.SourceSHA256 = hex.EncodeToString(sum[:]), hex.EncodeToString(srcSum[:])
	return &Result{Record: rec, path: path, scratch: c.scratch}, nil
}

// waitForMemory is what the engine's reservation answers when the
// memory budget cannot grant the estimate at once: the conversion gives
// its input back, waits for the share, then reads the input again.
type waitForMemory struct{ n int64 }

func (w *waitForMemory) Error() string {
	return fmt.Sprintf("convert: %d bytes of the memory budget are not free", w.n)
}

// transcodeWithin reads the file into C memory and converts it within its
// share of the memory budget, storing the function that gives the share
// back in *release. The share is known once the engine has read the
// header; when it is not free at once, the input is freed before waiting
// for it (a 24-megapixel HEIC is 18 MB, held for as long as the
// conversion ahead takes) and read again once granted, at most twice; a
// third reading waits holding its input. It returns the JPEG, its record
// and the SHA-256 of the bytes decoded.
func (c *Converter) transcodeWithin(ctx context.Context, r io.ReaderAt, size int64, j job, release *func()) ([]byte, Record, [32]byte, error) {
	var held int64
	for attempt := 0; ; attempt++ {
		j.reserve = func(n int64) (err error) {
			if *release != nil && n <= held {
				return nil
			}
			if *release != nil { // the file grew between readings
				(*release)()
				*release = nil
			}
			if attempt >= 2 {
				*release, err = c.memory.acquire(ctx, n)
				held = n
				return err
			}
			rel, ok := c.memory.tryAcquire(n)
			if !ok {
				return &waitForMemory{n: n}
			}
			*release, held = rel, n
			return nil
		}
		src, free, err := sourceBuffer(size)
		if err != nil {
			return nil, Record{}, [32]byte{}, err
		}
		j.freeSrc = sync.OnceFunc(free)
		if _, err := io.ReadFull(io.NewSectionReader(r, 0, size), src); err != nil {
			j.freeSrc()
			return nil, Record{}, [32]byte{}, fmt.Errorf("convert: reading the %d-byte %s: %w", size, typeName(j.from), err)
		}
		// The original's hash is taken from the bytes the engine decodes,
		// before it gives them back.
		srcSum := sha256.Sum256(src)
		out, rec, err := transcode(ctx, src, j)
		j.freeSrc()
		var wait *waitForMemory
		if !errors.As(err, &wait) {
			return out, rec, srcSum, err
		}
		if *release, err = c.memory.acquire(ctx, wait.n); err != nil {
			return nil, Record{}, [32]byte{}, err
		}
		held = wait.n
	}
}

// job is one planned conversion, handed to the engine.
type job struct {
	from string // validate's type name: heif, webp, jpg
	why  string // WhyType, WhyBytes, or "" for a JPEG to check against MaxPixels
	cfg  Config
	// reserve takes n bytes of the memory budget until Convert returns;
	// the engine calls it once it knows the pixel count, before decoding.
	reserve func(n int64) error
	// freeSrc gives the input's memory back; the engine calls it once the
	// pixels are decoded, and Convert again when it returns (only the
	// first call frees).
	freeSrc func()
}

// plan sniffs the type and decides from it and the size alone, without
// decoding: a job for the engine, ErrNotNeeded, or a refusal.
func (c *Converter) plan(r io.ReaderAt, size int64) (job, error) {
	if size < 0 {
		return job{}, fmt.Errorf("convert: negative size %d", size)
	}
	if size > c.cfg.MaxInputBytes {
		return job{}, &Error{Reason: ReasonInputTooLarge,
			Found: fmt.Sprintf("the file has %d bytes, over the %d bytes accepted for conversion", size, c.cfg.MaxInputBytes),
			Fix:   "export the photo at a smaller size before importing it"}
	}
	head := make([]byte, min(size, validate.HeadSize))
	if n, err := r.ReadAt(head, 0); n < len(head) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return job{}, fmt.Errorf("convert: reading the first %d bytes: %w", len(head), err)
	}
	t := validate.Sniff(head)
	j := job{from: t, cfg: c.cfg}
	over := size > c.cfg.MaxBytes
	switch t {
	case "heif", "webp":
		j.why = WhyType
		return j, nil
	case "jpg":
		switch {
		case over:
			j.why = WhyBytes
		case c.cfg.MaxPixels == 0:
			return job{}, ErrNotNeeded
		}
		return j, nil
	case "png", "gif", "bmp", "mp4":
		if !over {
			return job{}, ErrNotNeeded
		}
		why := map[string]string{
			"png": "PNG is never turned into JPEG: its transparency and sharp edges would be lost",
			"gif": "GIF is never turned into JPEG: its animation and transparency would be lost",
			"bmp": "BMP is never turned into JPEG",
			"mp4": "MP4 video is never re-encoded",
		}[t]
		return job{}, &Error{Reason: ReasonNotConvertible,
			Found: fmt.Sprintf("a %s of %d bytes, over the limit of %d bytes; %s", typeName(t), size, c.cfg.MaxBytes, why),
			Fix:   "reduce the file yourself (fewer pixels or colours, a shorter video), or export a photo as JPEG"}
	}
	return job{}, &Error{Reason: ReasonNotConvertible,
		Found: "the content is " + typeName(t) + "; only HEIC/HEIF, WebP and JPEG are converted",
		Fix:   "export the photo as JPEG"}
}

// typeName names a sniffed type for messages.
func typeName(t string) string {
	switch t {
	case "":
		return "not a recognised image"
	case "heif":
		return "HEIC/HEIF photo"
	case "webp":
		return "WebP image"
	case "jpg":
		return "JPEG photo"
	case "mp4":
		return "MP4 video"
	}
	return strings.ToUpper(t) + " file"
}

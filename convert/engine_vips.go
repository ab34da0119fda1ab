//go:build vips

package convert

// #cgo pkg-config: vips
// #include <malloc.h>
// #include <stdlib.h>
// #include <vips/vips.h>
//
// static VipsImage *heif_sequential(void *buf, size_t len) {
// 	VipsImage *out = NULL;
// 	if (vips_heifload_buffer(buf, len, &out, "access", VIPS_ACCESS_SEQUENTIAL, NULL))
// 		return NULL;
// 	return out;
// }
import "C"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/davidbyttow/govips/v2/vips"
)

// available is true: this build links libvips through govips.
const available = true

// mmapThreshold is the allocation size from which glibc's malloc maps
// memory of its own for each block, given back to the system as soon as
// the block is freed.
const mmapThreshold = 128 << 10

// mallocArenas is the most heap arenas glibc's malloc creates (its
// default is eight per core): fewer arenas, less freed memory held apart
// in each (what MALLOC_ARENA_MAX=2 in the environment does, which glibc
// reads only when the process starts).
const mallocArenas = 2

// startVips starts libvips once per process: its operation cache off (each
// conversion reads different bytes, and the cache would keep decoded photos
// alive), its messages sent to slog at debug level (the errors that matter
// come back as errors), and as many worker threads as CPUs.
//
// It first fixes glibc's mmap threshold for the whole process. By default
// the threshold rises to the size of every mapped block freed (up to 32
// MB), so after the first photo the decoders' and encoders' buffers of a
// few MB come from the heap arenas, one per thread that allocates, where
// freed memory stays resident and is split among threads: a process
// converting 24-megapixel HEIC and JPEG photos two at a time peaked at
// 624 MB with the default and 367 MB with the threshold fixed at 128 KiB
// (the quality of the conversions and their speed unchanged).
var startVips = sync.OnceFunc(func() {
	C.mallopt(C.M_MMAP_THRESHOLD, mmapThreshold)
	C.mallopt(C.M_ARENA_MAX, mallocArenas)
	vips.LoggingSettings(func(domain string, level vips.LogLevel, msg string) {
		slog.Debug("libvips", "domain", domain, "level", int(level), "message", msg)
	}, vips.LogLevelWarning)
	vips.Startup(&vips.Config{ConcurrencyLevel: 0, MaxCacheFiles: 0, MaxCacheMem: 0, MaxCacheSize: 0})
})

// Sampling for size estimates: bands full-width bands, together about
// 1/sampleShare of the rows, each a multiple of 16 rows (a JPEG MCU row at
// 4:2:0) and starting on one, so the sample's blocks are the picture's.
// Pictures of at most exactPixels pixels, or fewer than exactRows rows,
// are estimated by encoding them whole.
const (
	bands       = 8
	sampleShare = 8
	exactPixels = 2_000_000
	exactRows   = 512
)

// transcode decodes src (a HEIF, WebP or JPEG file) and encodes it as a
// JPEG that fits j.cfg.MaxBytes. The header is checked before any pixel
// is decoded: libvips loads lazily, and pixels are decoded on the first
// encode, once, into memory, where every later encode reads them.
func transcode(ctx context.Context, src []byte, j job) ([]byte, Record, error) {
	startVips()
	t := &transcoder{ctx: ctx, cfg: j.cfg}
	defer t.close()
	var rec Record

	img, err := t.load(src, 1)
	if err != nil {
		return nil, rec, t.corrupt(j, "cannot read the header", err)
	}
	w0, h0 := img.Width(), img.Height()
	rec.WidthBefore, rec.HeightBefore = w0, h0
	pixels := int64(w0) * int64(h0)
	if pixels > j.cfg.MaxInputPixels {
		return nil, rec, &Error{Reason: ReasonTooManyPixels,
			Found: fmt.Sprintf("the %s declares %dx%d pixels (%d), over the %d allowed; nothing was decoded", typeName(j.from), w0, h0, pixels, j.cfg.MaxInputPixels),
			Fix:   "if the photo is genuine, export it at a smaller size"}
	}
	if j.from == "webp" && img.Pages() > 1 {
		return nil, rec, &Error{Reason: ReasonNotConvertible,
			Found: fmt.Sprintf("an animated WebP of %d frames; a JPEG would keep only the first", img.Pages()),
			Fix:   "export the frame you want as JPEG, or the animation as GIF or MP4"}
	}
	if j.why == "" { // a JPEG within MaxBytes: converted only for its pixels
		if j.cfg.MaxPixels == 0 || pixels <= j.cfg.MaxPixels {
			return nil, rec, ErrNotNeeded
		}
		j.why = WhyPixels
	}
	if err := j.reserve(footprint(j.from, int64(len(src)), pixels)); err != nil {
		return nil, rec, err
	}

	// A pixel cap: let the JPEG decoder shrink by 2, 4 or 8 while it
	// decodes (far cheaper, and the full size never sits in memory), then
	// resize the rest of the way.
	scale := 1.0
	if j.cfg.MaxPixels > 0 && pixels > j.cfg.MaxPixels {
		scale = math.Sqrt(float64(j.cfg.MaxPixels) / float64(pixels))
		if k := shrinkOnLoad(scale); j.from == "jpg" && k > 1 {
			if img, err = t.load(src, k); err != nil {
				return nil, rec, t.corrupt(j, "cannot read the header", err)
			}
			scale = min(1, math.Sqrt(float64(j.cfg.MaxPixels)/(float64(img.Width())*float64(img.Height()))))
		}
	}

	if err := prepare(img, j.cfg.KeepEXIF); err != nil {
		return nil, rec, t.corrupt(j, "cannot prepare the pixels", err)
	}
	// Decode now (reading one pixel decodes the whole photo: a JPEG into
	// libvips' memory, a HEIC into libheif's), then give the input's bytes
	// back: nothing reads them again, and the search holds the decoded
	// pixels for seconds. Two 24-megapixel JPEGs converted at once hold
	// 30 MB less; the hash of the input was taken before.
	if _, err := img.GetPoint(0, 0); err != nil {
		return nil, rec, t.corrupt(j, "cannot decode", err)
	}
	j.freeSrc()
	var pic picture = &vipsPicture{t: t, src: img, img: img, scale: 1}
	if scale < 1 {
		if pic, err = pic.(*vipsPicture).scaled(scale); err != nil {
			return nil, rec, t.corrupt(j, "cannot resize", err)
		}
	}
	res, err := fit(pic, j.cfg.MaxBytes, j.cfg.MinQuality, j.cfg.MaxQuality)
	if err != nil {
		if ctx.Err() != nil {
			return nil, rec, fmt.Errorf("convert: %w", ctx.Err())
		}
		return nil, rec, t.corrupt(j, "cannot decode or encode", err)
	}
	rec.Why, rec.Quality = j.why, res.quality
	rec.WidthAfter, rec.HeightAfter = res.pic.dims()
	return res.data, rec, nil
}

// sourceBuffer returns n bytes of C memory for an input file, and the
// function that frees them: libvips reads the file from there, and the
// bytes go back to the system when the conversion is over instead of
// waiting in the Go heap for a collection.
func sourceBuffer(n int64) ([]byte, func(), error) {
	if n == 0 {
		return nil, func() {}, nil
	}
	p := C.malloc(C.size_t(n))
	if p == nil {
		return nil, nil, fmt.Errorf("convert: cannot allocate %d bytes to read the file into", n)
	}
	return unsafe.Slice((*byte)(p), n), func() { C.free(p) }, nil
}

// shrinkOnLoad returns the largest JPEG shrink-on-load factor (1, 2, 4 or
// 8) that keeps the decoded picture at least scale times the original.
func shrinkOnLoad(scale float64) int {
	k := 1
	for k < 8 && 1/float64(2*k) >= scale {
		k *= 2
	}
	return k
}

// prepare applies the EXIF orientation, converts colour to 8-bit sRGB
// (through the embedded ICC profile when there is one), flattens
// transparency onto white and drops metadata not in keep.
func prepare(img *vips.ImageRef, keep []string) error {
	if err := img.AutoRotate(); err != nil {
		return err
	}
	if img.HasICCProfile() {
		// "srgb" is libvips' built-in profile; the embedded one is the
		// input, and the fallback only matters without one.
		if err := img.TransformICCProfileWithFallback("srgb", "srgb"); err != nil {
			return err
		}
	}
	// Greyscale stays grey (one band is sRGB's grey); everything else,
	// and grey with alpha, becomes sRGB.
	target := vips.InterpretationSRGB
	if in := img.Interpretation(); img.Bands() == 1 && (in == vips.InterpretationBW || in == vips.InterpretationGrey16) {
		target = vips.InterpretationBW
	}
	if img.Interpretation() != target || img.BandFormat() != vips.BandFormatUchar {
		if err := img.ToColorSpace(target); err != nil {
			return err
		}
	}
	if img.HasAlpha() {
		if err := img.Flatten(&vips.Color{R: 255, G: 255, B: 255}); err != nil {
			return err
		}
	}
	if len(keep) > 0 {
		fields := []string{"exif-data"}
		for _, tag := range keep {
			for ifd := range 5 {
				fields = append(fields, fmt.Sprintf("exif-ifd%d-%s", ifd, tag))
			}
		}
		if err := img.RemoveMetadata(fields...); err != nil {
			return err
		}
	}
	return nil
}

// vipsErr turns a govips error into one line: libvips' messages, without
// the Go stack trace govips appends to them.
func vipsErr(err error) error {
	msg, _, _ := strings.Cut(err.Error(), "Stack:")
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return fmt.Errorf("libvips: %s", strings.Join(lines, "; "))
}

// transcoder holds one conversion's state: its context and the images to
// close when it is over.
type transcoder struct {
	ctx  context.Context
	cfg  Config
	refs []*vips.ImageRef
}

func (t *transcoder) keep(r *vips.ImageRef) *vips.ImageRef {
	t.refs = append(t.refs, r)
	return r
}

// close frees the conversion's images, then gives the memory malloc kept
// for reuse back to the system (malloc_trim): what a conversion frees is
// spread over the arenas of the threads that allocated it, and the next
// conversion, on other threads, would add its peak to it.
func (t *transcoder) close() {
	for _, r := range t.refs {
		r.Close()
	}
	C.malloc_trim(0)
}

// newImageRef is govips' own constructor of an ImageRef around a
// VipsImage (its ImportParams cannot ask for sequential access).
//
//go:linkname newImageRef github.com/davidbyttow/govips/v2/vips.newImageRef
func newImageRef(img unsafe.Pointer, current, original vips.ImageType, buf []byte) *vips.ImageRef

// load opens src lazily (header only), with JPEG shrink-on-load factor k.
//
// An upright HEIC is opened for sequential access: libheif decodes the
// whole photo into its own RGB buffer at the first read, from which
// libvips' HEIF loader serves any row at any time, so the photo can be
// read again and again from there. With random access, libvips copies
// that buffer into a second one of its own (72 MB at 24 megapixels) and
// both stay for the whole conversion: one 24-megapixel HEIC peaked at 226
// MB in a process of 26 MB instead of 208, and held 216 MB instead of
// 150 during the quality search. A HEIC to turn by its EXIF orientation
// keeps random access: rotating a sequentially read photo makes libvips
// cache more rows at every encode (36 MB more each time).
func (t *transcoder) load(src []byte, k int) (*vips.ImageRef, error) {
	if vips.DetermineImageType(src) == vips.ImageTypeHEIF {
		p := C.heif_sequential(unsafe.Pointer(&src[0]), C.size_t(len(src)))
		if p == nil {
			msg := C.vips_error_buffer_copy()
			defer C.g_free(C.gpointer(msg))
			return nil, errors.New(C.GoString(msg))
		}
		img := t.keep(newImageRef(unsafe.Pointer(p), vips.ImageTypeHEIF, vips.ImageTypeHEIF, src))
		if img.Orientation() <= 1 {
			return img, nil
		}
		img.Close()
	}
	p := vips.NewImportParams() // fail on the first decoder warning: a damaged photo is refused, not uploaded grey
	if k > 1 {
		p.JpegShrinkFactor.Set(k)
	}
	img, err := vips.LoadImageFromBuffer(src, p)
	if err != nil {
		return nil, err
	}
	return t.keep(img), nil
}

func (t *transcoder) corrupt(j job, what string, err error) error {
	return &Error{Reason: ReasonCorrupt, Err: vipsErr(err),
		Found: fmt.Sprintf("libvips %s of the %s", what, typeName(j.from)),
		Fix:   "open the file to check it; export or copy it again"}
}

// vipsPicture is a picture over libvips: img is src resized by scale (or
// src itself), and both share the decoded pixels.
type vipsPicture struct {
	t     *transcoder
	src   *vips.ImageRef // oriented, sRGB, before any resize
	img   *vips.ImageRef
	scale float64

	sample *vips.ImageRef // bands of img, built on first use
	factor float64        // img's rows / sample's rows
	exact  map[int][]byte // small pictures: full encodes by quality
}

func (p *vipsPicture) dims() (int, int) { return p.img.Width(), p.img.Height() }

func (p *vipsPicture) params(q int) *vips.JpegExportParams {
	return &vips.JpegExportParams{
		Quality: q,
		// Strip everything unless tags are kept (prepare dropped the rest).
		StripMetadata: len(p.t.cfg.KeepEXIF) == 0,
		// 4:2:0 at every quality: libvips' default turns subsampling off
		// from Q 90, which makes size jump with quality and the search
		// lose its footing. Baseline, standard Huffman tables: progressive
		// and optimized coding hold the whole image's coefficients in
		// memory (about 3 bytes a pixel) and take two to three times as
		// long.
		SubsampleMode: vips.VipsForeignSubsampleOn,
	}
}

func (p *vipsPicture) encode(q int) ([]byte, error) {
	if b, ok := p.exact[q]; ok {
		return b, nil
	}
	if err := p.t.ctx.Err(); err != nil {
		return nil, err
	}
	b, _, err := p.img.ExportJpeg(p.params(q))
	return b, err
}

func (p *vipsPicture) estimate(q int) (int64, error) {
	w, h := p.dims()
	if int64(w)*int64(h) <= exactPixels || h < exactRows {
		b, err := p.encode(q)
		if err != nil {
			return 0, err
		}
		if p.exact == nil {
			p.exact = map[int][]byte{}
		}
		p.exact[q] = b
		return int64(len(b)), nil
	}
	if p.sample == nil {
		if err := p.buildSample(w, h); err != nil {
			return 0, err
		}
	}
	if err := p.t.ctx.Err(); err != nil {
		return 0, err
	}
	b, _, err := p.sample.ExportJpeg(p.params(q))
	if err != nil {
		return 0, err
	}
	return int64(math.Round(float64(len(b)) * p.factor)), nil
}

// buildSample joins bands full-width bands spread evenly down the picture.
func (p *vipsPicture) buildSample(w, h int) error {
	bh := max(16, (h/(bands*sampleShare))&^15)
	seg := h / bands
	parts := make([]*vips.ImageRef, bands)
	for i := range parts {
		c, err := p.img.Copy()
		if err != nil {
			return err
		}
		p.t.keep(c)
		y := min((i*seg+(seg-bh)/2)&^15, h-bh)
		if err := c.ExtractArea(0, y, w, bh); err != nil {
			return err
		}
		parts[i] = c
	}
	if err := parts[0].ArrayJoin(parts[1:], 1); err != nil {
		return err
	}
	p.sample = parts[0]
	p.factor = float64(h) / float64(bands*bh)
	return nil
}

func (p *vipsPicture) scaled(f float64) (picture, error) {
	c, err := p.src.Copy()
	if err != nil {
		return nil, err
	}
	p.t.keep(c)
	// Whole target dimensions, rounded down, so a pixel cap holds exactly;
	// libvips rounds width*scale, which then gives them back.
	s := p.scale * f
	w, h := p.src.Width(), p.src.Height()
	tw, th := max(1, int(float64(w)*s)), max(1, int(float64(h)*s))
	if err := c.ResizeWithVScale(float64(tw)/float64(w), float64(th)/float64(h), vips.KernelLanczos3); err != nil {
		return nil, err
	}
	return &vipsPicture{t: p.t, src: p.src, img: c, scale: s}, nil
}

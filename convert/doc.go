// Package convert turns photos Alipay refuses into JPEGs it accepts: it is
// the stage of a job's data path between validate and upload, used only
// when the worker allows conversion and the job asks for it.
//
// # What is converted
//
// [Converter.Convert] sniffs the file's type from its first bytes and
// decides from the type and size before decoding anything:
//
//   - HEIC/HEIF and WebP photos become JPEG (an animated WebP is refused:
//     a JPEG would keep one frame);
//   - a JPEG over the size limit (5,242,880 bytes, [validate.DefaultMaxSize],
//     unless Config.MaxBytes says otherwise), or over Config.MaxPixels when
//     that is set, is re-encoded as JPEG;
//   - every other acceptable file gives [ErrNotNeeded] and is uploaded byte
//     for byte, exactly as without conversion;
//   - PNG, GIF and BMP are never turned into JPEG (transparency, animation
//     and sharp edges would be lost) and MP4 is never re-encoded: over the
//     limit they are refused with [ReasonNotConvertible], as are types the
//     converter does not read.
//
// # How
//
// libvips (8.14, through github.com/davidbyttow/govips/v2) reads the header
// first, and a header declaring more than Config.MaxInputPixels is refused
// with [ReasonTooManyPixels] before any pixel is decoded: a decompression
// bomb costs a few hundred bytes of parsing. The photo is then turned
// upright by its EXIF orientation, converted to 8-bit sRGB through its ICC
// profile when it has one (greyscale stays grey), flattened onto white if
// it has transparency, and stripped of metadata: GPS position, camera
// serial numbers, maker notes, XMP, IPTC and the ICC profile all go, unless
// Config.KeepEXIF names EXIF tags to keep.
//
// The JPEG quality is the largest from Config.MinQuality (80) to
// Config.MaxQuality (95) whose file fits the limit, at 4:2:0 chroma
// subsampling throughout so that size grows steadily with quality. The
// pixels are decoded once, into memory, and every encode reads them there.
// Full-size encodes are the costly step, so the search estimates sizes
// from a sample (eight full-width bands, an eighth of the rows, on JPEG
// block boundaries), bisects over the estimates, encodes only the
// candidate in full, calibrates the estimates with that real size, and
// checks the next quality up in full when its estimate is within 2% of the
// limit: one or two full encodes per photo, where a bisection over full
// encodes takes four or five. Only when even the floor quality does not
// fit is the photo downscaled, by the factor the excess calls for (file
// size follows the pixel count), and encoded at the floor.
//
// With Config.MaxPixels set, a bigger photo is scaled down to it; a JPEG
// is shrunk by 2, 4 or 8 while it is decoded, so its full size never sits
// in memory.
//
// # Memory
//
// One conversion holds the decoded photo, about 3 bytes a pixel (72 MB for
// 24 megapixels), and its encodes. The input sits in C memory until the
// photo is decoded, then goes back (its SHA-256 is taken first); decoding
// a HEIC or WebP holds more for a while: libheif's YCbCr planes, its HEVC
// decoder's state and its RGB buffer, or libwebp's own decoded copy (the
// vips command itself peaks at about 240 MB on a 24-megapixel HEIC from
// heif-enc, 226 MB on a WebP). An upright HEIC is read sequentially, so
// libvips serves its rows from libheif's buffer instead of copying them
// into a second one (see load in engine_vips.go). Two bounds apply:
// Config.Concurrency (2 by default) conversions at most, and
// Config.MaxMemory (224 MiB by default), a budget each conversion takes
// from before it decodes, by an estimate made from the header: the input's
// bytes plus 4 bytes a pixel for JPEG, 8 for HEIC/HEIF and WebP. Two
// 24-megapixel JPEGs fit together; a 24-megapixel HEIC or WebP runs alone.
// A photo estimated over the whole budget runs when nothing else does. A
// conversion whose share is not free gives its input back while it waits
// and reads it again once granted. libvips keeps a decoded photo over 100
// MB in a temporary file instead of memory (its VIPS_DISC_THRESHOLD).
//
// The first conversion also sets glibc's malloc up for the process: a
// fixed mmap threshold of 128 KiB (buffers of the decoders and encoders go
// back to the system when freed, instead of staying in the heap arenas of
// the threads that freed them), at most two arenas, and malloc_trim after
// each conversion; the Go heap, through which the encodes pass, is
// collected and given back after each conversion too. BENCHMARKS.md (the
// convert scenario of cmd/bench) has what each of these saves in a worker
// converting 24-megapixel HEIC and JPEG photos with WORKER_CONCURRENCY=8.
//
// # Scratch space and records
//
// A converted file is written to a private scratch directory under a byte
// budget (Config.ScratchBytes, 64 MiB); Convert waits for space when the
// budget is spent. The [Result] carries a [Record] (the original's type,
// why it was converted, bytes and pixel size before and after, the quality,
// the SHA-256 of the converted file and of the original, which is read
// once) for the task result; [Result.Remove] deletes the file once the
// attempt is over, and [Converter.Close] removes the directory.
//
// # Builds with and without libvips
//
// libvips is a C library, linked through cgo, and only a build with the
// vips tag links it:
//
//	go build -tags vips ./cmd/worker
//
// That needs libvips-dev (with HEIF and WebP support; Debian's has both)
// at build time and the libvips library at run time. The default build,
// without the tag, is the one every other package, command and test uses:
// it needs no C toolchain or libvips headers, cross-compiles, and keeps
// `go build ./...` working on any machine; conversion is off by default
// anyway. In that build [Available] reports false and conversions fail
// with [ErrUnavailable], while the decisions that need no decoding
// ([ErrNotNeeded], refusals by type and size) are made the same way. `make
// test` runs this package's tests in both builds.
//
// # Errors
//
// A refusal is an [*Error] with a stable [Reason] (not_convertible,
// input_too_large, too_many_pixels, corrupt) and a message saying what was
// found and what to do; it is permanent. [ErrUnavailable] is a build
// problem, not the file's. Read errors and the context's error come back
// wrapped and are worth retrying.
package convert

// Package mediagen is the project's only generator of sample media: the
// small synthetic photos and videos that tests, the demo, the benchmarks
// and the chaos suite write instead of committing files.
//
// # Pictures
//
// [Noise] draws an opaque image of random pixels from a seed. Random pixels
// defeat compression, so the encoded file is about as large as its raw
// pixels (3 bytes a pixel in an opaque PNG), and different seeds give files
// with different content hashes. [Scene] draws a shop front that
// compresses like a photo. The same seed always gives the same image.
//
// [Encode] writes an image as JPEG, PNG, GIF or BMP; [Sample] is the short
// form for tests: a small valid file of a format, unique for its seed.
// [AnimatedGIF] makes a three-frame animation, and [JPEGOfSize] a valid
// JPEG of an exact size, padded with comment segments a validator does
// not read.
//
// [Photo] draws a picture that encodes like a camera photo, with grain to
// set how big its files get: what conversion tests and benchmarks need to
// make JPEGs, HEICs and WebPs of realistic sizes. [AddEXIF] writes an EXIF
// segment into a JPEG (orientation, camera make, GPS position), as phones
// do.
//
// # Formats made by tools
//
// Go has no HEIC or WebP encoder, and its JPEG encoder is slow under the
// race detector, so three functions hand an image to a command instead:
// [HEIC] to heif-enc (Debian's libheif-examples), [WebP] and [CameraJPEG]
// to the vips command (libvips-tools); `make deps` installs both. Either
// is independent of the converter it feeds. A missing tool is an error
// matching [ErrTool] that says how to install it.
//
// # BMP
//
// The standard library decodes JPEG, PNG and GIF and encodes them too, but
// it has no BMP codec at all. [EncodeBMP] fills that gap with the plainest
// BMP there is: a 14-byte BITMAPFILEHEADER, a 40-byte BITMAPINFOHEADER
// ([BMPHeader], which also builds odd headers for validator tests), then
// uncompressed 24-bit pixels stored bottom-up, each row padded to a
// multiple of four bytes. Every BMP reader accepts that layout, and so does
// the project's validate package. Alpha is not stored: each pixel is
// written as its colour composited over black.
//
// # MP4
//
// [Box] builds an ISO base media file box; [MP4] the smallest structure
// that type sniffing and the validator take for an MP4 (ftyp, moov,
// mdat). It plays nothing: a real clip lives in testdata/media, and a
// "free" box appended to it makes copies with unique content.
//
// Nothing here is meant for production uploads: the package lives under
// internal/ and serves code that needs real, decodable files without
// committing them. It imports nothing of the project, so every package's
// tests can use it.
package mediagen

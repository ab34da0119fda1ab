// Package mediagen makes small synthetic media files for the project's
// tests, demo and chaos runs.
//
// # BMP
//
// The standard library decodes JPEG, PNG and GIF and encodes them too, but
// it has no BMP codec at all. [EncodeBMP] fills that gap with the plainest
// BMP there is: a 14-byte BITMAPFILEHEADER, a 40-byte BITMAPINFOHEADER,
// then uncompressed 24-bit pixels stored bottom-up, each row padded to a
// multiple of four bytes. Every BMP reader accepts that layout, and so does
// the project's validate package. Alpha is not stored: each pixel is
// written as its colour composited over black.
//
// # Noise
//
// [Noise] draws an opaque image of random pixels from a seed. Random pixels
// defeat compression, so the encoded file is about as large as its raw
// pixels (3 bytes a pixel in an opaque PNG), and different seeds give files
// with different content hashes. The same seed always gives the same image.
//
// Nothing here is meant for production uploads: the package lives under
// internal/ and serves code that needs real, decodable files without
// committing them.
package mediagen

package validate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// Structural checks. Each reads the header (the image decoders stop after
// the header: DecodeConfig never touches pixel data) and a few bytes at the
// end, so the cost does not grow with the file.

// afterHead reads the content from its start: first the head already read,
// then the rest of r from where the head ends, so a decoder does not read
// the head a second time.
func afterHead(r io.ReaderAt, head []byte, size int64) io.Reader {
	n := int64(len(head))
	return io.MultiReader(bytes.NewReader(head), io.NewSectionReader(r, n, size-n))
}

// tailIs reports whether the last len(want) bytes of the content equal want.
func tailIs(r io.ReaderAt, size int64, want []byte) (bool, error) {
	n := int64(len(want))
	if size < n {
		return false, nil
	}
	got := make([]byte, n)
	if err := readFull(r, got, size-n); err != nil {
		return false, err
	}
	return bytes.Equal(got, want), nil
}

func dims(format string, cfg image.Config) (int, int, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, corrupt(fmt.Sprintf("the %s header gives a size of %dx%d pixels", format, cfg.Width, cfg.Height), nil)
	}
	return cfg.Width, cfg.Height, nil
}

var jpegEOI = []byte{0xFF, 0xD9}

// checkJPEG parses the JPEG header up to the frame header (SOFn) and checks
// that the file ends with the EOI marker FF D9. A file with data after EOI
// is rejected too: it cannot be told apart from one cut short.
//
// Codings the standard library does not implement (arithmetic coding,
// lossless, 12-bit samples) are refused as unsupported: browsers and most
// viewers cannot display them either, and accepting them on their end
// marker alone would let damaged headers through.
func checkJPEG(r io.ReaderAt, head []byte, size int64) (int, int, error) {
	cfg, err := jpeg.DecodeConfig(afterHead(r, head, size))
	var unsupported jpeg.UnsupportedError
	if errors.As(err, &unsupported) {
		return 0, 0, &Error{Reason: ReasonUnsupportedType, Field: FieldContent,
			Found: "the JPEG uses a coding that common viewers cannot display (arithmetic, lossless or 12-bit)",
			Err:   err,
			Fix:   "re-save the photo as an ordinary (baseline or progressive) JPEG"}
	}
	if err != nil {
		return 0, 0, corrupt("the JPEG header is broken or cut short", err)
	}
	w, h, err := dims("JPEG", cfg)
	if err != nil {
		return 0, 0, err
	}
	ok, err := tailIs(r, size, jpegEOI)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, corrupt("the JPEG does not end with its end-of-image marker FF D9, so it is cut short (or has data appended)", nil)
	}
	return w, h, nil
}

// pngIEND is the complete, always identical IEND chunk: length 0, type,
// CRC.
var pngIEND = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}

// checkPNG parses the signature and IHDR chunk and checks that the file ends
// with the IEND chunk.
func checkPNG(r io.ReaderAt, head []byte, size int64) (int, int, error) {
	cfg, err := png.DecodeConfig(afterHead(r, head, size))
	if err != nil {
		return 0, 0, corrupt("the PNG header is broken or cut short", err)
	}
	w, h, err := dims("PNG", cfg)
	if err != nil {
		return 0, 0, err
	}
	ok, err := tailIs(r, size, pngIEND)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, corrupt("the PNG does not end with its IEND chunk, so it is cut short (or has data appended)", nil)
	}
	return w, h, nil
}

// checkGIF parses the header and global colour table and checks that the
// file ends with the trailer byte 0x3B.
func checkGIF(r io.ReaderAt, head []byte, size int64) (int, int, error) {
	cfg, err := gif.DecodeConfig(afterHead(r, head, size))
	if err != nil {
		return 0, 0, corrupt("the GIF header is broken or cut short", err)
	}
	w, h, err := dims("GIF", cfg)
	if err != nil {
		return 0, 0, err
	}
	ok, err := tailIs(r, size, []byte{0x3B})
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, corrupt("the GIF does not end with its trailer byte 0x3B, so it is cut short (or has data appended)", nil)
	}
	return w, h, nil
}

// BMP compression methods (biCompression).
const (
	bmpRGB            = 0
	bmpRLE8           = 1
	bmpRLE4           = 2
	bmpBitfields      = 3
	bmpJPEG           = 4
	bmpPNG            = 5
	bmpAlphaBitfields = 6
)

// checkBMP checks the BITMAPFILEHEADER and the DIB header that follows it
// (BITMAPCOREHEADER or BITMAPINFOHEADER and its later versions): sizes,
// offsets, bit depth, and that the pixel array the header describes fits in
// the file. It needs nothing beyond the head already read.
func checkBMP(head []byte, size int64) (int, int, error) {
	bad := func(format string, a ...any) (int, int, error) {
		return 0, 0, corrupt("the BMP header is inconsistent: "+fmt.Sprintf(format, a...), nil)
	}
	if len(head) < 26 {
		return bad("the file has only %d bytes, too few for a header", len(head))
	}
	le := binary.LittleEndian
	fileSize := int64(le.Uint32(head[2:]))
	pixelOff := int64(le.Uint32(head[10:]))
	dibSize := int64(le.Uint32(head[14:]))
	if fileSize != 0 && fileSize > size {
		return bad("it declares %d bytes but the file has %d (cut short?)", fileSize, size)
	}
	var (
		w, h        int64
		planes, bpp uint16
		compression uint32
		imageSize   int64
	)
	switch dibSize {
	case 12: // BITMAPCOREHEADER (OS/2)
		w = int64(le.Uint16(head[18:]))
		h = int64(le.Uint16(head[20:]))
		planes = le.Uint16(head[22:])
		bpp = le.Uint16(head[24:])
	case 16, 40, 52, 56, 64, 108, 124: // BITMAPINFOHEADER and its successors
		if need := 14 + min(dibSize, 40); int64(len(head)) < need {
			return bad("the file has only %d bytes, too few for a %d-byte DIB header", len(head), dibSize)
		}
		w = int64(int32(le.Uint32(head[18:])))
		h = int64(int32(le.Uint32(head[22:])))
		planes = le.Uint16(head[26:])
		bpp = le.Uint16(head[28:])
		if dibSize >= 40 {
			compression = le.Uint32(head[30:])
			imageSize = int64(le.Uint32(head[34:]))
		}
	default:
		return bad("unknown DIB header size %d", dibSize)
	}
	if h < 0 {
		h = -h // top-down bitmap
	}
	if w <= 0 || h == 0 {
		return bad("its size is %dx%d pixels", w, h)
	}
	if planes != 1 {
		return bad("it has %d colour planes (must be 1)", planes)
	}
	if pixelOff < 14+dibSize || pixelOff >= size {
		return bad("pixel data offset %d is outside the file (header ends at %d, file has %d bytes)", pixelOff, 14+dibSize, size)
	}
	switch compression {
	case bmpRGB, bmpBitfields, bmpAlphaBitfields:
		switch bpp {
		case 1, 2, 4, 8, 16, 24, 32:
		default:
			return bad("bit depth %d is not valid for uncompressed pixels", bpp)
		}
		// Rows are padded to 4 bytes. w is below 2^32 and bpp at most 32,
		// so row cannot overflow; comparing with a quotient keeps row*h
		// from overflowing either.
		row := (int64(bpp)*w + 31) / 32 * 4
		if row > (size-pixelOff)/h {
			return bad("%d rows of %d bytes (%dx%d pixels at %d bits) do not fit after offset %d in a file of %d bytes (cut short?)", h, row, w, h, bpp, pixelOff, size)
		}
	case bmpRLE8, bmpRLE4, bmpJPEG, bmpPNG:
		if imageSize > size-pixelOff {
			return bad("compressed pixel data of %d bytes from offset %d overruns the file of %d bytes (cut short?)", imageSize, pixelOff, size)
		}
	default:
		return bad("unknown compression method %d", compression)
	}
	if w > 1<<20 || h > 1<<20 {
		return bad("its size of %dx%d pixels is implausible", w, h)
	}
	return int(w), int(h), nil
}

// MP4 (ISO base media file format) limits.
const (
	// maxTopLevelBoxes bounds the walk over top-level boxes: plain MP4
	// files have a handful, fragmented ones one moof+mdat pair per
	// fragment.
	maxTopLevelBoxes = 4096
	// maxFtypSize bounds the ftyp box; a real one lists a few brands.
	maxFtypSize = 4096
)

// checkMP4 walks the top-level boxes, reading only their 8- or 16-byte
// headers: the first must be a plausible ftyp box, every box must have a
// printable four-character type and fit in the file, the boxes must cover
// the file exactly, and a moov box (the index, without which no player can
// play the file) must be present.
func checkMP4(r io.ReaderAt, size int64) error {
	bad := func(format string, a ...any) error {
		return corrupt("the MP4 structure is broken: "+fmt.Sprintf(format, a...), nil)
	}
	var hdr [16]byte
	moov := false
	off := int64(0)
	for n := 0; off < size; n++ {
		if n == maxTopLevelBoxes {
			return bad("more than %d top-level boxes", maxTopLevelBoxes)
		}
		if size-off < 8 {
			return bad("%d stray bytes at offset %d, too few for a box header (cut short?)", size-off, off)
		}
		if err := readFull(r, hdr[:8], off); err != nil {
			return err
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := hdr[4:8]
		hdrLen := int64(8)
		if !printable(typ) {
			return bad("the box at offset %d has the invalid type %q", off, typ)
		}
		switch boxSize {
		case 0: // extends to the end of the file
			boxSize = size - off
		case 1: // 64-bit size follows the type
			if size-off < 16 {
				return bad("box %q at offset %d is cut short in its header", typ, off)
			}
			if err := readFull(r, hdr[8:16], off+8); err != nil {
				return err
			}
			large := binary.BigEndian.Uint64(hdr[8:16])
			if large > uint64(size-off) {
				return bad("box %q at offset %d declares %d bytes but only %d remain (cut short?)", typ, off, large, size-off)
			}
			boxSize = int64(large)
			hdrLen = 16
		}
		if boxSize < hdrLen {
			return bad("box %q at offset %d declares %d bytes, less than its own header", typ, off, boxSize)
		}
		if boxSize > size-off {
			return bad("box %q at offset %d declares %d bytes but only %d remain (cut short?)", typ, off, boxSize, size-off)
		}
		if n == 0 {
			// ftyp: major brand, minor version, then 4-byte compatible brands.
			body := boxSize - hdrLen
			if string(typ) != "ftyp" || body < 8 || body > maxFtypSize || body%4 != 0 {
				return bad("the first box is %q of %d bytes, not a well-formed ftyp box", typ, boxSize)
			}
		}
		if string(typ) == "moov" {
			moov = true
		}
		off += boxSize
	}
	if !moov {
		return bad("there is no moov box (the index of the video), so the recording was not finished or the file is incomplete")
	}
	return nil
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

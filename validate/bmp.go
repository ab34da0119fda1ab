package validate

import (
	"encoding/binary"
	"fmt"
)

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
// the file. It needs nothing beyond the head. The file size the header
// declares is not checked: writers often get it wrong (or leave it 0), and
// decoders ignore it; what matters is that the pixels are all there.
func checkBMP(head []byte, size int64) (int, int, error) {
	bad := func(format string, a ...any) (int, int, error) {
		return 0, 0, corrupt("the BMP header is inconsistent: "+fmt.Sprintf(format, a...), nil)
	}
	if len(head) < 26 {
		return bad("the file has only %d bytes, too few for a header", len(head))
	}
	le := binary.LittleEndian
	pixelOff := int64(le.Uint32(head[10:]))
	dibSize := int64(le.Uint32(head[14:]))
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

// bmpWalker holds the verdict checkBMP reached from the head: a BMP's
// headers say where its pixels are and how large they are, and the file's
// size says whether they fit, so no byte after the head is needed.
type bmpWalker struct {
	width, height int
}

func (w *bmpWalker) write([]byte) error     { return nil }
func (w *bmpWalker) plan() (int64, int)     { return 1 << 62, 0 }
func (w *bmpWalker) skip(int64) error       { return nil }
func (w *bmpWalker) end() (int, int, error) { return w.width, w.height, nil }

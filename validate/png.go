package validate

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

type pngState uint8

const (
	pngSig  pngState = iota // collecting the 8-byte signature
	pngHead                 // collecting a chunk's length and type
	pngIHDR                 // collecting the 13 bytes of IHDR's data
	pngData                 // passing over a chunk's data through the CRC
	pngCRC                  // collecting a chunk's CRC
	pngDone                 // after IEND: the rest of the file does not matter
)

// Stages of a PNG, in the order its critical chunks must come.
const (
	pngStart = iota
	pngSeenIHDR
	pngSeenPLTE
	pngSeenTRNS
	pngSeenIDAT
)

// PNG colour types (IHDR).
const (
	pngGray      = 0
	pngTrue      = 2
	pngPaletted  = 3
	pngGrayAlpha = 4
	pngTrueAlpha = 6
)

// pngWalker walks a PNG's chunks, checking each length against the file
// and each CRC, the IHDR header, and the order and lengths of the critical
// chunks as the standard decoder does, until IEND. It does not inflate the
// image data.
type pngWalker struct {
	piece
	state  pngState
	size   int64 // of the whole file
	at     int64 // offset of the current chunk
	typ    [4]byte
	left   int64 // data bytes of the current chunk not yet seen
	crc    uint32
	stage  int
	depth  byte
	color  byte
	width  int
	height int
}

func newPNGWalker(size int64) *pngWalker {
	w := &pngWalker{size: size}
	w.expect(len(pngSignature))
	return w
}

func (w *pngWalker) bad(format string, a ...any) error {
	return corrupt("the PNG structure is broken: "+fmt.Sprintf(format, a...), nil)
}

func (w *pngWalker) write(p []byte) error {
	for len(p) > 0 {
		switch w.state {
		case pngDone:
			w.pos += int64(len(p))
			return nil
		case pngData:
			k := int(min(int64(len(p)), w.left))
			w.crc = crc32.Update(w.crc, crc32.IEEETable, p[:k])
			w.left -= int64(k)
			w.pos += int64(k)
			p = p[k:]
			if w.left == 0 {
				w.state = pngCRC
				w.expect(4)
			}
		default:
			if err := w.collect(&p, w.gotPiece); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *pngWalker) gotPiece() error {
	b := w.got()
	switch w.state {
	case pngSig:
		if string(b) != pngSignature {
			return w.bad("the 8-byte signature is damaged")
		}
		w.state = pngHead
		w.expect(8)
	case pngHead:
		return w.onChunk(binary.BigEndian.Uint32(b[:4]), b[4:8])
	case pngIHDR:
		w.crc = crc32.Update(w.crc, crc32.IEEETable, b)
		if err := w.onIHDR(b); err != nil {
			return err
		}
		w.state = pngCRC
		w.expect(4)
	case pngCRC:
		if got := binary.BigEndian.Uint32(b); got != w.crc {
			return w.bad("chunk %q at byte %d has CRC %08x but its bytes give %08x, so it is damaged", w.typ[:], w.at, got, w.crc)
		}
		if string(w.typ[:]) == "IEND" {
			w.state = pngDone
			return nil
		}
		w.state = pngHead
		w.expect(8)
	}
	return nil
}

// onChunk checks a chunk's header: its length fits in the file, and the
// critical chunks come in order with the lengths their content needs.
func (w *pngWalker) onChunk(length uint32, typ []byte) error {
	w.at = w.pos - 8
	copy(w.typ[:], typ)
	if length > 0x7FFFFFFF {
		return w.bad("chunk %q at byte %d declares the impossible length %d", typ, w.at, length)
	}
	if need, rem := int64(length)+4, w.size-w.pos; need > rem {
		return cutShort(fmt.Sprintf("the PNG's chunk %q at byte %d needs %d more bytes (data and CRC) but the file has only %d left, and no IEND chunk", typ, w.at, need, rem))
	}
	order := func() error {
		return w.bad("chunk %q at byte %d is out of order", typ, w.at)
	}
	paletted := w.color == pngPaletted
	switch string(typ) {
	case "IHDR":
		if w.stage != pngStart {
			return order()
		}
		if length != 13 {
			return w.bad("the IHDR chunk has %d bytes of data instead of 13", length)
		}
		w.stage = pngSeenIHDR
		w.crc = crc32.Update(0, crc32.IEEETable, typ)
		w.state = pngIHDR
		w.expect(13)
		return nil
	case "PLTE":
		if w.stage != pngSeenIHDR {
			return order()
		}
		n := length / 3
		if length%3 != 0 || n == 0 || n > 256 || n > 1<<w.depth {
			return w.bad("the palette (PLTE) has %d bytes, not a whole number of at most %d colours", length, min(256, 1<<w.depth))
		}
		if !paletted && w.color != pngTrue && w.color != pngTrueAlpha {
			return w.bad("a palette (PLTE) in an image of colour type %d", w.color)
		}
		w.stage = pngSeenPLTE
	case "tRNS":
		switch {
		case paletted && w.stage != pngSeenPLTE,
			w.color == pngTrue && w.stage != pngSeenIHDR && w.stage != pngSeenPLTE,
			!paletted && w.color != pngTrue && w.stage != pngSeenIHDR:
			return order()
		}
		switch w.color {
		case pngGray:
			if length != 2 {
				return w.bad("the transparency chunk (tRNS) has %d bytes instead of 2", length)
			}
		case pngTrue:
			if length != 6 {
				return w.bad("the transparency chunk (tRNS) has %d bytes instead of 6", length)
			}
		case pngPaletted:
			if length > 256 {
				return w.bad("the transparency chunk (tRNS) has %d bytes, more than 256", length)
			}
		default:
			return w.bad("a transparency chunk (tRNS) in an image of colour type %d, which has an alpha channel", w.color)
		}
		w.stage = pngSeenTRNS
	case "IDAT":
		if w.stage < pngSeenIHDR || w.stage == pngSeenIHDR && paletted {
			return order()
		}
		w.stage = pngSeenIDAT
	case "IEND":
		if w.stage != pngSeenIDAT {
			return order()
		}
		if length != 0 {
			return w.bad("the IEND chunk has %d bytes of data instead of 0", length)
		}
	}
	w.crc = crc32.Update(0, crc32.IEEETable, typ)
	w.left = int64(length)
	if length == 0 {
		w.state = pngCRC
		w.expect(4)
	} else {
		w.state = pngData
	}
	return nil
}

func (w *pngWalker) onIHDR(b []byte) error {
	width := int32(binary.BigEndian.Uint32(b[0:4]))
	height := int32(binary.BigEndian.Uint32(b[4:8]))
	if width <= 0 || height <= 0 {
		return dims("PNG", int(width), int(height))
	}
	w.width, w.height = int(width), int(height)
	w.depth, w.color = b[8], b[9]
	valid := false
	switch w.color {
	case pngGray:
		valid = w.depth == 1 || w.depth == 2 || w.depth == 4 || w.depth == 8 || w.depth == 16
	case pngPaletted:
		valid = w.depth == 1 || w.depth == 2 || w.depth == 4 || w.depth == 8
	case pngTrue, pngGrayAlpha, pngTrueAlpha:
		valid = w.depth == 8 || w.depth == 16
	}
	switch {
	case !valid:
		return w.bad("IHDR gives bit depth %d with colour type %d, a combination PNG does not have", w.depth, w.color)
	case b[10] != 0 || b[11] != 0:
		return w.bad("IHDR gives compression method %d and filter method %d (both must be 0)", b[10], b[11])
	case b[12] > 1:
		return w.bad("IHDR gives interlace method %d (0 or 1)", b[12])
	}
	return nil
}

func (w *pngWalker) plan() (int64, int) {
	if w.state == pngDone {
		return 1 << 62, 0
	}
	return 0, 0
}

func (w *pngWalker) skip(n int64) error {
	w.pos += n
	return nil
}

func (w *pngWalker) end() (int, int, error) {
	if w.state == pngDone {
		return w.width, w.height, nil
	}
	return 0, 0, cutShort(fmt.Sprintf("the PNG ends at byte %d before its IEND chunk", w.pos))
}

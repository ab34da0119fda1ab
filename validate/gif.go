package validate

import (
	"fmt"
)

type gifState uint8

const (
	gifHeader   gifState = iota // collecting the header and logical screen descriptor
	gifBlock                    // collecting a block's introducer
	gifLabel                    // collecting an extension's label
	gifControl                  // collecting a graphic control extension
	gifAppSize                  // collecting an application extension's block size
	gifImage                    // collecting an image descriptor
	gifLZW                      // collecting an image's LZW minimum code size
	gifSubBlock                 // collecting a data sub-block's size
	gifPass                     // passing over w.pass bytes
	gifDone                     // after the trailer: the rest of the file does not matter
)

// gifWalker walks a GIF's blocks: the header and colour tables, extensions
// and image descriptors with their data sub-blocks, until the trailer
// 0x3B. It checks what the standard decoder checks outside the LZW data.
type gifWalker struct {
	piece
	state  gifState
	pass   int64
	then   gifState // state after gifPass
	at     int64    // offset of the current block
	width  int
	height int
	global bool // a global colour table is present
	images int
}

func newGIFWalker() *gifWalker {
	w := &gifWalker{}
	w.expect(13)
	return w
}

func (w *gifWalker) bad(format string, a ...any) error {
	return corrupt("the GIF structure is broken: "+fmt.Sprintf(format, a...), nil)
}

// colourTable is the size in bytes of a colour table whose flags byte is
// flags (packed fields: bit 7 present, bits 0-2 its size).
func colourTable(flags byte) int64 {
	if flags&0x80 == 0 {
		return 0
	}
	return 3 << (1 + flags&7)
}

// next collects n bytes in state s.
func (w *gifWalker) next(s gifState, n int) {
	w.state = s
	w.expect(n)
}

// passThen passes over n bytes, then collects in state s.
func (w *gifWalker) passThen(n int64, s gifState) {
	w.next(s, 1)
	if n > 0 {
		w.state, w.pass, w.then = gifPass, n, s
	}
}

func (w *gifWalker) write(p []byte) error {
	for len(p) > 0 {
		switch w.state {
		case gifDone:
			w.pos += int64(len(p))
			return nil
		case gifPass:
			k := min(int64(len(p)), w.pass)
			w.pass -= k
			w.pos += k
			p = p[k:]
			if w.pass == 0 {
				w.state = w.then
			}
		default:
			if err := w.collect(&p, w.gotPiece); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *gifWalker) gotPiece() error {
	b := w.got()
	switch w.state {
	case gifHeader:
		if v := string(b[:6]); v != "GIF87a" && v != "GIF89a" {
			return w.bad("the signature is %q, not GIF87a or GIF89a", v)
		}
		w.width = int(b[6]) | int(b[7])<<8
		w.height = int(b[8]) | int(b[9])<<8
		if err := dims("GIF", w.width, w.height); err != nil {
			return err
		}
		w.global = b[10]&0x80 != 0
		w.passThen(colourTable(b[10]), gifBlock)
	case gifBlock:
		w.at = w.pos - 1
		switch b[0] {
		case 0x21:
			w.next(gifLabel, 1)
		case 0x2C:
			w.next(gifImage, 9)
		case 0x3B:
			if w.images == 0 {
				return w.bad("the trailer comes before any image")
			}
			w.state = gifDone
		default:
			return w.bad("unknown block type 0x%02X at byte %d", b[0], w.at)
		}
	case gifLabel:
		switch b[0] {
		case 0xF9: // graphic control
			w.next(gifControl, 6)
		case 0x01: // plain text: a 12-byte block, then sub-blocks
			w.passThen(13, gifSubBlock)
		case 0xFE: // comment
			w.next(gifSubBlock, 1)
		case 0xFF: // application
			w.next(gifAppSize, 1)
		default:
			return w.bad("unknown extension 0x%02X at byte %d", b[0], w.at)
		}
	case gifControl:
		if b[0] != 4 || b[5] != 0 {
			return w.bad("the graphic control extension at byte %d is malformed", w.at)
		}
		w.next(gifBlock, 1)
	case gifAppSize:
		w.passThen(int64(b[0]), gifSubBlock)
	case gifImage:
		left, top := int(b[0])|int(b[1])<<8, int(b[2])|int(b[3])<<8
		fw, fh := int(b[4])|int(b[5])<<8, int(b[6])|int(b[7])<<8
		if left+fw > w.width || top+fh > w.height {
			return w.bad("image %d at byte %d (%dx%d at %d,%d) does not fit the %dx%d screen", w.images+1, w.at, fw, fh, left, top, w.width, w.height)
		}
		if b[8]&0x80 == 0 && !w.global {
			return w.bad("image %d at byte %d has no colour table, and there is no global one", w.images+1, w.at)
		}
		w.images++
		w.passThen(colourTable(b[8]), gifLZW)
	case gifLZW:
		if b[0] < 2 || b[0] > 8 {
			return w.bad("image %d at byte %d has the LZW code size %d (2 to 8 allowed)", w.images, w.at, b[0])
		}
		w.next(gifSubBlock, 1)
	case gifSubBlock:
		if b[0] == 0 {
			w.next(gifBlock, 1)
		} else {
			w.passThen(int64(b[0]), gifSubBlock)
		}
	}
	return nil
}

func (w *gifWalker) plan() (int64, int) {
	switch w.state {
	case gifDone:
		return 1 << 62, 0
	case gifPass:
		return w.pass, 0
	}
	return 0, 0
}

func (w *gifWalker) skip(n int64) error {
	w.pos += n
	if w.state == gifPass {
		w.pass -= n
		if w.pass == 0 {
			w.state = w.then
		}
	}
	return nil
}

func (w *gifWalker) end() (int, int, error) {
	if w.state == gifDone {
		return w.width, w.height, nil
	}
	if w.state == gifHeader {
		return 0, 0, cutShort(fmt.Sprintf("the GIF ends at byte %d inside its header", w.pos))
	}
	return 0, 0, cutShort(fmt.Sprintf("the GIF ends at byte %d without its trailer byte 0x3B", w.pos))
}

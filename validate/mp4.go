package validate

import (
	"encoding/binary"
	"fmt"
)

// MP4 (ISO base media file format) limits.
const (
	// maxTopLevelBoxes bounds the walk over top-level boxes: plain MP4
	// files have a handful, fragmented ones one moof+mdat pair per
	// fragment.
	maxTopLevelBoxes = 4096
	// maxFtypSize bounds the ftyp box; a real one lists a few brands.
	maxFtypSize = 4096
)

// mp4Walker walks the top-level boxes, looking only at their 8- or 16-byte
// headers: the first must be a plausible ftyp box, every box must have a
// printable four-character type and fit in the file, the boxes must cover
// the file exactly (so an mdat cut short shows), and a moov box (the
// index, without which no player can play the file) and an mdat box (the
// media data) must be present, in either order.
type mp4Walker struct {
	piece
	size  int64 // of the whole file
	at    int64 // offset of the current box
	pass  int64 // bytes of the current box's body not yet passed over
	boxes int
	moov  bool
	mdat  bool
}

func newMP4Walker(size int64) *mp4Walker {
	w := &mp4Walker{size: size}
	w.expect(8)
	return w
}

func (w *mp4Walker) bad(format string, a ...any) error {
	return corrupt("the MP4 structure is broken: "+fmt.Sprintf(format, a...), nil)
}

func (w *mp4Walker) write(p []byte) error {
	for len(p) > 0 {
		if w.pass > 0 {
			k := min(int64(len(p)), w.pass)
			w.pass -= k
			w.pos += k
			p = p[k:]
			if err := w.boxEnd(); err != nil {
				return err
			}
			continue
		}
		if err := w.collect(&p, w.onHeader); err != nil {
			return err
		}
	}
	return nil
}

// boxEnd checks, once a box's body has been passed over, that what
// remains can hold the next box's header.
func (w *mp4Walker) boxEnd() error {
	if w.pass > 0 {
		return nil
	}
	if rem := w.size - w.pos; rem > 0 && rem < 8 {
		return cutShort(fmt.Sprintf("the MP4 has %d stray bytes at byte %d, too few for a box header", rem, w.pos))
	}
	return nil
}

// onHeader handles a collected box header: 8 bytes, or 16 when the box has
// a 64-bit size.
func (w *mp4Walker) onHeader() error {
	b := w.got()
	typ := b[4:8]
	if len(b) == 8 {
		w.at = w.pos - 8
		if w.boxes == maxTopLevelBoxes {
			return w.bad("more than %d top-level boxes", maxTopLevelBoxes)
		}
		w.boxes++
		if !printable(typ) {
			return w.bad("the box at byte %d has the invalid type %q", w.at, typ)
		}
		if binary.BigEndian.Uint32(b) == 1 { // a 64-bit size follows the type
			if w.size-w.at < 16 {
				return cutShort(fmt.Sprintf("the MP4's box %q at byte %d ends inside its header", typ, w.at))
			}
			w.want = 16
			return nil
		}
	}
	rem := w.size - w.at
	var size int64
	switch s32 := binary.BigEndian.Uint32(b); {
	case len(b) == 16:
		large := binary.BigEndian.Uint64(b[8:16])
		if large > uint64(rem) {
			return cutShort(fmt.Sprintf("the MP4's box %q at byte %d declares %d bytes but only %d remain", typ, w.at, large, rem))
		}
		size = int64(large)
	case s32 == 0: // the box extends to the end of the file
		size = rem
	default:
		size = int64(s32)
	}
	if size < int64(len(b)) {
		return w.bad("box %q at byte %d declares %d bytes, less than its own header", typ, w.at, size)
	}
	if size > rem {
		return cutShort(fmt.Sprintf("the MP4's box %q at byte %d declares %d bytes but only %d remain", typ, w.at, size, rem))
	}
	if w.boxes == 1 {
		// ftyp: major brand, minor version, then 4-byte compatible brands.
		body := size - int64(len(b))
		if string(typ) != "ftyp" || body < 8 || body > maxFtypSize || body%4 != 0 {
			return w.bad("the first box is %q of %d bytes, not a well-formed ftyp box", typ, size)
		}
	}
	switch string(typ) {
	case "moov":
		w.moov = true
	case "mdat":
		w.mdat = true
	}
	w.expect(8)
	w.pass = size - int64(len(b))
	return w.boxEnd()
}

func (w *mp4Walker) plan() (int64, int) {
	if w.pass > 0 {
		return w.pass, w.remaining()
	}
	return 0, w.remaining()
}

func (w *mp4Walker) skip(n int64) error {
	w.pos += n
	w.pass -= n
	return w.boxEnd()
}

func (w *mp4Walker) end() (int, int, error) {
	if w.pos != w.size || w.pass > 0 || w.have > 0 {
		// Not reached: box sizes are checked against the file's size.
		return 0, 0, cutShort(fmt.Sprintf("the MP4 ends at byte %d inside a box", w.pos))
	}
	if !w.moov {
		return 0, 0, w.bad("there is no moov box (the index of the video): the recording was not finished or the file is cut short")
	}
	if !w.mdat {
		return 0, 0, w.bad("there is no mdat box (the video's media data): the file is cut short")
	}
	return 0, 0, nil
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

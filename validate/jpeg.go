package validate

import (
	"bytes"
	"fmt"
)

// JPEG marker codes (ITU T.81, table B.1).
const (
	jpegSOF0  = 0xC0 // baseline
	jpegSOF1  = 0xC1 // extended sequential, Huffman
	jpegSOF2  = 0xC2 // progressive, Huffman
	jpegDHT   = 0xC4
	jpegDAC   = 0xCC // arithmetic coding conditioning
	jpegRST0  = 0xD0
	jpegRST7  = 0xD7
	jpegSOI   = 0xD8
	jpegEOI   = 0xD9
	jpegSOS   = 0xDA
	jpegDQT   = 0xDB
	jpegDRI   = 0xDD
	jpegAPP0  = 0xE0
	jpegAPP14 = 0xEE
	jpegAPP15 = 0xEF
	jpegCOM   = 0xFE
)

type jpegState uint8

const (
	jpegPiece  jpegState = iota // collecting w.piece (what says which)
	jpegSeek                    // looking for the 0xFF that starts the next marker
	jpegMarker                  // just after an 0xFF: the marker code (or more 0xFF fill)
	jpegPass                    // passing over w.pass bytes of a segment
	jpegScan                    // entropy-coded data of a scan
	jpegScanFF                  // entropy-coded data, just after an 0xFF
	jpegDone                    // after EOI: the rest of the file does not matter
)

// What a JPEG walker's piece holds.
const (
	jpegWhatSOI    = iota // the first two bytes
	jpegWhatLength        // a segment's length
	jpegWhatSOF           // a frame header
	jpegWhatSOS           // a scan header
	jpegWhatDHT           // a Huffman table's class, id and 16 code counts
	jpegWhatDQT           // a quantization table's precision and id
	jpegWhatAPP14         // the start of an APP14 segment (Adobe)
)

// jpegWalker walks a JPEG: marker segments, and after each scan header the
// entropy-coded data up to the next marker (skipping stuffed FF 00 bytes,
// restart markers and fill bytes), until EOI. Like the standard library's
// decoder, and libjpeg, it ignores stray bytes between segments; it refuses
// what that decoder refuses in headers and tables, and codings it does not
// implement (arithmetic, lossless, hierarchical, 12-bit) as unsupported.
type jpegWalker struct {
	piece
	state  jpegState
	what   int
	marker byte  // marker of the segment being read
	seg    int   // bytes of the segment not yet taken (after its length)
	pass   int   // bytes to pass over in jpegPass
	at     int64 // offset of the current marker, for messages

	// The frame (SOF) and what the segments so far defined.
	ncomp       int
	comp        [4]struct{ id, h, v byte }
	width       int
	height      int
	baseline    bool
	progressive bool
	huff        [2][4]bool // Huffman tables defined, by class (DC, AC) and id
	adobe       bool       // an Adobe APP14 segment was seen
	scans       int
}

func newJPEGWalker() *jpegWalker {
	w := &jpegWalker{what: jpegWhatSOI}
	w.expect(2)
	return w
}

func (w *jpegWalker) bad(format string, a ...any) error {
	return corrupt("the JPEG structure is broken: "+fmt.Sprintf(format, a...), nil)
}

// unsupported is the rejection of a coding the standard decoder (and most
// viewers) cannot display.
func (w *jpegWalker) unsupported(what string) error {
	return &Error{Reason: ReasonUnsupportedType, Field: FieldContent,
		Found: "the JPEG uses a coding that common viewers cannot display (" + what + ")",
		Fix:   "re-save the photo as an ordinary (baseline or progressive) JPEG"}
}

func (w *jpegWalker) write(p []byte) error {
	for len(p) > 0 {
		switch w.state {
		case jpegDone:
			w.pos += int64(len(p))
			return nil
		case jpegPiece:
			if err := w.collect(&p, w.gotPiece); err != nil {
				return err
			}
		case jpegPass:
			k := min(len(p), w.pass)
			w.pass -= k
			w.pos += int64(k)
			p = p[k:]
			if w.pass == 0 {
				if err := w.segmentNext(); err != nil {
					return err
				}
			}
		case jpegSeek, jpegScan:
			i := bytes.IndexByte(p, 0xFF)
			if i < 0 {
				w.pos += int64(len(p))
				return nil
			}
			w.pos += int64(i + 1)
			p = p[i+1:]
			if w.state == jpegSeek {
				w.state = jpegMarker
			} else {
				w.state = jpegScanFF
			}
		case jpegMarker, jpegScanFF:
			c := p[0]
			p = p[1:]
			w.pos++
			switch {
			case c == 0xFF: // fill byte: the marker code follows
			case c == 0x00:
				// In a scan, a stuffed data byte; between segments,
				// stray data (ignored, as decoders do).
				if w.state == jpegScanFF {
					w.state = jpegScan
				} else {
					w.state = jpegSeek
				}
			case w.state == jpegScanFF && jpegRST0 <= c && c <= jpegRST7:
				w.state = jpegScan
			default:
				if err := w.onMarker(c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// onMarker handles the marker code c, whose FF came just before it.
func (w *jpegWalker) onMarker(c byte) error {
	w.marker = c
	w.at = w.pos - 2
	switch {
	case c == jpegEOI:
		if w.scans == 0 {
			return w.bad("the end-of-image marker at byte %d comes before any image data (no SOS segment)", w.at)
		}
		if w.ncomp == 4 && !w.adobe {
			return w.unsupported("4 colour components without an Adobe APP14 segment saying what they are")
		}
		w.state = jpegDone
		return nil
	case jpegRST0 <= c && c <= jpegRST7:
		// A restart marker after the last scan's data: harmless.
		w.state = jpegSeek
		return nil
	case c < 0xC0:
		return w.bad("unknown marker FF %02X at byte %d", c, w.at)
	case c == jpegSOI:
		return w.bad("a second start-of-image marker at byte %d", w.at)
	}
	w.state, w.what = jpegPiece, jpegWhatLength
	w.expect(2)
	return nil
}

func (w *jpegWalker) gotPiece() error {
	b := w.got()
	switch w.what {
	case jpegWhatSOI:
		if b[0] != 0xFF || b[1] != jpegSOI {
			return w.bad("it does not start with the start-of-image marker FF D8")
		}
		w.state = jpegSeek
		return nil
	case jpegWhatLength:
		return w.onSegment(int(b[0])<<8 | int(b[1]) - 2)
	case jpegWhatSOF:
		return w.onSOF(b)
	case jpegWhatSOS:
		return w.onSOS(b)
	case jpegWhatDHT:
		return w.onDHT(b)
	case jpegWhatDQT:
		return w.onDQT(b[0])
	case jpegWhatAPP14:
		w.adobe = string(b[:5]) == "Adobe"
		return w.segmentNext()
	}
	panic("validate: unknown JPEG piece")
}

// take starts collecting n bytes of the current segment.
func (w *jpegWalker) take(what, n int) {
	w.seg -= n
	w.state, w.what = jpegPiece, what
	w.expect(n)
}

// passOver passes over n bytes of the current segment.
func (w *jpegWalker) passOver(n int) error {
	w.seg -= n
	if n == 0 {
		return w.segmentNext()
	}
	w.state, w.pass = jpegPass, n
	return nil
}

// onSegment starts the segment of w.marker, whose length says n bytes
// follow.
func (w *jpegWalker) onSegment(n int) error {
	m := w.marker
	if n < 0 {
		return w.bad("the segment of marker FF %02X at byte %d has a length shorter than the length field itself", m, w.at)
	}
	w.seg = n
	switch {
	case m == jpegSOF0 || m == jpegSOF1 || m == jpegSOF2:
		if w.ncomp != 0 {
			return w.bad("a second frame header (SOF) at byte %d", w.at)
		}
		if n != 6+3*1 && n != 6+3*3 && n != 6+3*4 {
			return w.unsupported(fmt.Sprintf("a frame header of %d bytes: only 1, 3 or 4 colour components are supported", n))
		}
		w.baseline, w.progressive = m == jpegSOF0, m == jpegSOF2
		w.take(jpegWhatSOF, n)
	case m == jpegDHT || m == jpegDQT:
		return w.segmentNext()
	case m == jpegSOS:
		if w.ncomp == 0 {
			return w.bad("a scan (SOS) at byte %d comes before the frame header (SOF)", w.at)
		}
		if n < 6 || n > 4+2*w.ncomp || n%2 != 0 {
			return w.bad("the scan header at byte %d has the wrong length %d", w.at, n)
		}
		w.take(jpegWhatSOS, n)
	case m == jpegDRI:
		if n != 2 {
			return w.bad("the restart interval segment at byte %d has the wrong length %d", w.at, n)
		}
		return w.passOver(n)
	case m == jpegAPP14 && n >= 12:
		w.take(jpegWhatAPP14, 12)
	case jpegAPP0 <= m && m <= jpegAPP15 || m == jpegCOM:
		return w.passOver(n)
	case 0xC3 <= m && m <= 0xCF: // other SOFn, JPG, DAC
		return w.unsupported(fmt.Sprintf("marker FF %02X: arithmetic, lossless or hierarchical coding", m))
	default: // DNL, DHP, EXP, JPGn
		return w.unsupported(fmt.Sprintf("marker FF %02X", m))
	}
	return nil
}

// segmentNext continues after a piece of the current segment: the next
// table of a DHT or DQT segment, or the next marker.
func (w *jpegWalker) segmentNext() error {
	if w.seg == 0 {
		w.state = jpegSeek
		return nil
	}
	switch w.marker {
	case jpegDHT:
		if w.seg < 17 {
			return w.bad("the Huffman table segment at byte %d has the wrong length", w.at)
		}
		w.take(jpegWhatDHT, 17)
	case jpegDQT:
		w.take(jpegWhatDQT, 1)
	default: // the rest of an APP14 segment
		return w.passOver(w.seg)
	}
	return nil
}

func (w *jpegWalker) onSOF(b []byte) error {
	if b[0] != 8 {
		return w.unsupported(fmt.Sprintf("%d-bit samples", b[0]))
	}
	w.height = int(b[1])<<8 | int(b[2])
	w.width = int(b[3])<<8 | int(b[4])
	n := (len(b) - 6) / 3 // components the length allows
	if int(b[5]) != n {
		return w.bad("the frame header at byte %d lists %d components in room for %d", w.at, b[5], n)
	}
	if err := dims("JPEG", w.width, w.height); err != nil {
		return err
	}
	w.ncomp = n
	for i := range n {
		c := b[6+3*i:]
		id, hv, tq := c[0], c[1], c[2]
		for j := range i {
			if w.comp[j].id == id {
				return w.bad("component id %d appears twice in the frame header", id)
			}
		}
		if tq > 3 {
			return w.bad("component %d uses quantization table %d (at most 3)", id, tq)
		}
		h, v := hv>>4, hv&0x0F
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return w.bad("component %d has sampling factors %dx%d (1 to 4 allowed)", id, h, v)
		}
		if !jpegSamplingSupported(n, i, h, v, hv, w.comp[:i]) {
			return w.unsupported(fmt.Sprintf("chroma subsampling %dx%d for component %d", h, v, id))
		}
		if n == 1 {
			h, v = 1, 1 // a single component is never interleaved
		}
		w.comp[i].id, w.comp[i].h, w.comp[i].v = id, h, v
	}
	return w.segmentNext()
}

// jpegSamplingSupported reports whether the standard decoder implements the
// sampling factors h, v (byte hv) of component i of n, given the components
// before it: 4:4:4, 4:4:0, 4:2:2, 4:2:0, 4:1:1 and 4:1:0 for colour, and two
// layouts for 4-component images.
func jpegSamplingSupported(n, i int, h, v, hv byte, prev []struct{ id, h, v byte }) bool {
	if h == 3 || v == 3 {
		return false
	}
	switch n {
	case 3:
		switch i {
		case 0:
			return v != 4
		case 1:
			return prev[0].h%h == 0 && prev[0].v%v == 0
		case 2:
			return prev[1].h == h && prev[1].v == v
		}
	case 4:
		switch i {
		case 0:
			return hv == 0x11 || hv == 0x22
		case 1, 2:
			return hv == 0x11
		case 3:
			return prev[0].h == h && prev[0].v == v
		}
	}
	return true
}

func (w *jpegWalker) onSOS(b []byte) error {
	ns := int(b[0])
	if len(b) != 4+2*ns {
		return w.bad("the scan header at byte %d lists %d components in %d bytes", w.at, ns, len(b))
	}
	ss, se, ah, al := b[1+2*ns], b[2+2*ns], b[3+2*ns]>>4, b[3+2*ns]&0x0F
	// Which tables the scan decodes with: a progressive DC refinement
	// scan uses none, a DC scan no AC table, an AC scan no DC table.
	dc := !w.progressive || ss == 0 && ah == 0
	ac := !w.progressive || ss > 0
	var seen [4]bool
	total := 0
	for i := range ns {
		sel, tables := b[1+2*i], b[2+2*i]
		k := -1
		for j := range w.ncomp {
			if w.comp[j].id == sel {
				k = j
			}
		}
		if k < 0 {
			return w.bad("the scan at byte %d names component %d, which the frame does not have", w.at, sel)
		}
		if seen[k] {
			return w.bad("the scan at byte %d names component %d twice", w.at, sel)
		}
		seen[k] = true
		total += int(w.comp[k].h) * int(w.comp[k].v)
		td, ta := tables>>4, tables&0x0F
		if td > 3 || ta > 3 || w.baseline && (td > 1 || ta > 1) {
			return w.bad("the scan at byte %d selects Huffman tables %d and %d, out of range", w.at, td, ta)
		}
		if dc && !w.huff[0][td] || ac && !w.huff[1][ta] {
			return w.bad("the scan at byte %d uses a Huffman table that no DHT segment defined", w.at)
		}
	}
	if w.ncomp > 1 && total > 10 {
		return w.bad("the scan at byte %d has sampling factors adding up to %d (at most 10)", w.at, total)
	}
	if w.progressive {
		if ss == 0 && se != 0 || ss > se || se > 63 {
			return w.bad("the progressive scan at byte %d has spectral selection %d to %d", w.at, ss, se)
		}
		if ss != 0 && ns != 1 {
			return w.bad("the progressive scan at byte %d codes AC coefficients of %d components at once", w.at, ns)
		}
		if ah != 0 && ah != al+1 {
			return w.bad("the progressive scan at byte %d has successive approximation %d/%d", w.at, ah, al)
		}
	}
	w.scans++
	w.state = jpegScan
	return nil
}

func (w *jpegWalker) onDHT(b []byte) error {
	class, id := b[0]>>4, b[0]&0x0F
	if class > 1 || id > 3 || w.baseline && id > 1 {
		return w.bad("the Huffman table segment at byte %d defines table class %d id %d, out of range", w.at, class, id)
	}
	n := 0
	for _, c := range b[1:17] {
		n += int(c)
	}
	if n == 0 || n > 256 {
		return w.bad("the Huffman table segment at byte %d defines a table of %d codes (1 to 256 allowed)", w.at, n)
	}
	if n > w.seg {
		return w.bad("the Huffman table segment at byte %d has the wrong length", w.at)
	}
	w.huff[class][id] = true
	return w.passOver(n)
}

func (w *jpegWalker) onDQT(x byte) error {
	precision, id := x>>4, x&0x0F
	if id > 3 || precision > 1 {
		return w.bad("the quantization table segment at byte %d defines table %d with precision %d, out of range", w.at, id, precision)
	}
	n := 64 << precision
	if n > w.seg {
		return w.bad("the quantization table segment at byte %d has the wrong length", w.at)
	}
	return w.passOver(n)
}

func (w *jpegWalker) plan() (int64, int) {
	switch w.state {
	case jpegDone:
		return 1 << 62, 0
	case jpegPass:
		return int64(w.pass), 0
	}
	return 0, 0
}

func (w *jpegWalker) skip(n int64) error {
	w.pos += n
	if w.state == jpegPass {
		w.pass -= int(n)
		if w.pass == 0 {
			return w.segmentNext()
		}
	}
	return nil
}

func (w *jpegWalker) end() (int, int, error) {
	switch w.state {
	case jpegDone:
		return w.width, w.height, nil
	case jpegScan, jpegScanFF:
		return 0, 0, cutShort(fmt.Sprintf("the JPEG ends at byte %d inside the image data of scan %d, without its end-of-image marker FF D9", w.pos, w.scans))
	case jpegPiece, jpegPass:
		if w.what != jpegWhatSOI || w.state == jpegPass {
			return 0, 0, cutShort(fmt.Sprintf("the JPEG ends at byte %d inside the segment of marker FF %02X at byte %d, without its end-of-image marker FF D9", w.pos, w.marker, w.at))
		}
	}
	return 0, 0, cutShort(fmt.Sprintf("the JPEG ends at byte %d without its end-of-image marker FF D9", w.pos))
}

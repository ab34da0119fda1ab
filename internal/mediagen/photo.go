package mediagen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// Photo returns a w×h opaque picture that compresses like a camera photo
// rather than like noise or flat colour: smooth colour fields, a grid of
// patches with hard edges between them, and per-pixel grain of up to
// ±grain levels in each channel (0 for none; camera photos behave like 4
// to 12). The same arguments always give the same pixels.
//
// Encoded by image/jpeg at quality 95 it takes about 1 bit a pixel with
// grain 0, 2.8 with grain 8 (a 24-megapixel photo of 8 MB) and 7 with
// grain 60: use more grain for bigger files at the same pixel size.
func Photo(w, h int, seed uint64, grain int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x70686f746f)) // "photo"
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if w <= 0 || h <= 0 {
		return img
	}
	grain = max(0, min(grain, 127))

	// Each channel is a row wave plus a column wave, so a pixel's base
	// colour costs two table look-ups.
	var rows, cols [3][]int16
	for c := range 3 {
		rows[c] = wave(rng, h)
		cols[c] = wave(rng, w)
	}
	// Patches: a grid of rectangles, each with its own colour offset,
	// gives the edges and the local structure real subjects have.
	const grid = 12
	var patch [grid][grid][3]int16
	for i := range grid {
		for j := range grid {
			for c := range 3 {
				patch[i][j][c] = int16(rng.IntN(81) - 40)
			}
		}
	}

	span := 2*grain + 1
	var noise uint64
	left := 0
	for y := range h {
		py := y * grid / h
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			px := x * grid / w
			p := row[4*x : 4*x+4 : 4*x+4]
			for c := range 3 {
				v := int(rows[c][y]) + int(cols[c][x]) + int(patch[py][px][c])
				if grain > 0 {
					if left == 0 {
						noise, left = rng.Uint64(), 8
					}
					v += int(uint8(noise))%span - grain
					noise >>= 8
					left--
				}
				p[c] = uint8(max(0, min(v, 255)))
			}
			p[3] = 255
		}
	}
	return img
}

// wave returns n samples of a smooth random curve centred near 64, the
// sum of three sines of random period and phase.
func wave(rng *rand.Rand, n int) []int16 {
	out := make([]int16, n)
	type sine struct{ amp, freq, phase float64 }
	var s [3]sine
	for i := range s {
		s[i] = sine{
			amp:   10 + 20*rng.Float64(),
			freq:  2 * math.Pi * (0.5 + 3*rng.Float64()) / float64(n),
			phase: 2 * math.Pi * rng.Float64(),
		}
	}
	for i := range out {
		v := 64.0
		for _, w := range s {
			v += w.amp * math.Sin(w.freq*float64(i)+w.phase)
		}
		out[i] = int16(v)
	}
	return out
}

// EXIF is what [AddEXIF] writes into a JPEG's APP1 segment. Zero fields
// are left out.
type EXIF struct {
	// Orientation is the EXIF Orientation tag, 1 to 8; 6 means "rotate 90°
	// clockwise to display".
	Orientation int
	// Make is the camera maker (tag 0x010F).
	Make string
	// Latitude and Longitude, in degrees (north and east positive), are
	// written as a GPS IFD when either is not zero.
	Latitude, Longitude float64
}

// ErrNotJPEG reports input to [AddEXIF] that does not start with a JPEG
// start-of-image marker.
var ErrNotJPEG = errors.New("mediagen: not a JPEG")

// AddEXIF returns a copy of the JPEG jpg with an EXIF APP1 segment holding
// e inserted right after the start-of-image marker (Go's image/jpeg writes
// none of its own). The segment is little-endian TIFF: IFD0 with the
// orientation and make, and a GPS IFD when a position is given.
func AddEXIF(jpg []byte, e EXIF) ([]byte, error) {
	if len(jpg) < 2 || jpg[0] != 0xFF || jpg[1] != 0xD8 {
		return nil, ErrNotJPEG
	}
	if e.Orientation < 0 || e.Orientation > 8 {
		return nil, fmt.Errorf("mediagen: EXIF orientation %d is not 0 to 8", e.Orientation)
	}
	tiff := exifTIFF(e)
	seg := make([]byte, 0, 10+len(tiff))
	seg = append(seg, 0xFF, 0xE1)
	seg = binary.BigEndian.AppendUint16(seg, uint16(2+6+len(tiff)))
	seg = append(seg, "Exif\x00\x00"...)
	seg = append(seg, tiff...)
	if len(seg)-2 > math.MaxUint16 {
		return nil, errors.New("mediagen: EXIF segment too long")
	}
	out := make([]byte, 0, len(jpg)+len(seg))
	out = append(out, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...), nil
}

// ifdEntry is one 12-byte IFD entry before layout: values longer than four
// bytes go to the data area after the IFD.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte // little-endian, exactly the entry's bytes
}

// TIFF field types used here.
const (
	tiffASCII    = 2
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5
)

func exifTIFF(e EXIF) []byte {
	le := binary.LittleEndian
	var ifd0 []ifdEntry
	if e.Make != "" {
		ifd0 = append(ifd0, ifdEntry{0x010F, tiffASCII, uint32(len(e.Make) + 1), append([]byte(e.Make), 0)})
	}
	if e.Orientation != 0 {
		ifd0 = append(ifd0, ifdEntry{0x0112, tiffShort, 1, le.AppendUint16(nil, uint16(e.Orientation))})
	}
	var gps []ifdEntry
	if e.Latitude != 0 || e.Longitude != 0 {
		latRef, lat := "N", e.Latitude
		if lat < 0 {
			latRef, lat = "S", -lat
		}
		lonRef, lon := "E", e.Longitude
		if lon < 0 {
			lonRef, lon = "W", -lon
		}
		gps = []ifdEntry{
			{0x0000, 1, 4, []byte{2, 3, 0, 0}}, // GPSVersionID 2.3.0.0 (BYTE)
			{0x0001, tiffASCII, 2, []byte(latRef + "\x00")},
			{0x0002, tiffRational, 3, dms(lat)},
			{0x0003, tiffASCII, 2, []byte(lonRef + "\x00")},
			{0x0004, tiffRational, 3, dms(lon)},
		}
		// The pointer's value is filled in once IFD0's size is known.
		ifd0 = append(ifd0, ifdEntry{0x8825, tiffLong, 1, make([]byte, 4)})
	}

	out := []byte("II*\x00")
	out = le.AppendUint32(out, 8) // IFD0 right after the header
	ifd0At := len(out)
	out = appendIFD(out, ifd0)
	if gps != nil {
		gpsAt := len(out)
		// Patch the GPS pointer: it is IFD0's last entry.
		entry := ifd0At + 2 + 12*(len(ifd0)-1)
		le.PutUint32(out[entry+8:], uint32(gpsAt))
		out = appendIFD(out, gps)
	}
	return out
}

// appendIFD lays out one IFD at the end of out (offsets count from the
// TIFF header, which is out[0]): entry count, entries, next-IFD offset 0,
// then the values that do not fit in four bytes.
func appendIFD(out []byte, entries []ifdEntry) []byte {
	le := binary.LittleEndian
	start := len(out)
	data := start + 2 + 12*len(entries) + 4
	var extra bytes.Buffer
	out = le.AppendUint16(out, uint16(len(entries)))
	for _, e := range entries {
		out = le.AppendUint16(out, e.tag)
		out = le.AppendUint16(out, e.typ)
		out = le.AppendUint32(out, e.count)
		if len(e.value) <= 4 {
			var v [4]byte
			copy(v[:], e.value)
			out = append(out, v[:]...)
			continue
		}
		out = le.AppendUint32(out, uint32(data+extra.Len()))
		extra.Write(e.value)
		if extra.Len()%2 == 1 {
			extra.WriteByte(0) // values start on a word boundary
		}
	}
	out = le.AppendUint32(out, 0) // no next IFD
	return append(out, extra.Bytes()...)
}

// dms encodes degrees as three RATIONALs: degrees, minutes, and seconds in
// hundredths.
func dms(deg float64) []byte {
	le := binary.LittleEndian
	d := math.Floor(deg)
	m := math.Floor((deg - d) * 60)
	s := math.Round(((deg-d)*60 - m) * 60 * 100)
	var out []byte
	for _, r := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(s), 100}} {
		out = le.AppendUint32(out, r[0])
		out = le.AppendUint32(out, r[1])
	}
	return out
}

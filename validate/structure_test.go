package validate

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// The walks are checked here on generated files and their mutations. For
// each mutation the standard decoder gives its verdict too, and the test
// fails when the walk disagrees with it, except where the row says why
// (policy).

// pngChunk builds a PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(b, uint32(len(data)))
	copy(b[4:], typ)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// pngChunks splits a PNG into its signature and chunks.
func pngChunks(t *testing.T, data []byte) (sig []byte, chunks [][]byte) {
	t.Helper()
	sig, rest := data[:8], data[8:]
	for len(rest) > 0 {
		n := 12 + int(binary.BigEndian.Uint32(rest))
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	return sig, chunks
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mutation is one generated file, the reason the walk must give (""
// for accepted), and, when the decoder's verdict is not expected to
// agree, why.
type mutation struct {
	name   string
	data   []byte
	want   Reason
	policy string
}

// checkMutations checks each mutation with Check and a Stream, and against
// the decoder.
func checkMutations(t *testing.T, ext string, cases []mutation) {
	t.Helper()
	v := newValidator(t, Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkBoth(t, v, tc.data, 5)
			wantReason(t, err, tc.want)
			_, _, derr, _ := oracle(ext, tc.data)
			if tc.policy != "" {
				t.Logf("decoder: %v; not compared: %s", derr, tc.policy)
				return
			}
			if (derr == nil) != (tc.want == "") {
				t.Errorf("the decoder says %v", derr)
			}
		})
	}
}

// jpegSegment finds the first segment of marker m before the scan data,
// returning its offset and length (marker included).
func jpegSegment(t *testing.T, data []byte, m byte) (int, int) {
	t.Helper()
	for i := 2; i+4 <= len(data); {
		n := 2 + int(binary.BigEndian.Uint16(data[i+2:]))
		if data[i+1] == m {
			return i, n
		}
		if data[i+1] == jpegSOS {
			break
		}
		i += n
	}
	t.Fatalf("no segment FF %02X", m)
	return 0, 0
}

func segment(m byte, body []byte) []byte {
	b := []byte{0xFF, m, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(2+len(body)))
	return append(b, body...)
}

// splice returns data with data[i:i+n] replaced by repl.
func splice(data []byte, i, n int, repl ...[]byte) []byte {
	return cat(append([][]byte{data[:i]}, append(repl, data[i+n:])...)...)
}

func TestJPEGWalk(t *testing.T) {
	t.Parallel()
	base := encodeJPEG(t, mediagen.Noise(40, 24, 1))
	sof, sofLen := jpegSegment(t, base, jpegSOF0)
	dht, dhtLen := jpegSegment(t, base, jpegDHT)
	dqt, dqtLen := jpegSegment(t, base, jpegDQT)
	sos, sosLen := jpegSegment(t, base, jpegSOS)
	eoi := len(base) - 2
	with := func(i int, b byte) []byte {
		c := bytes.Clone(base)
		c[i] = b
		return c
	}
	cmyk, err := os.ReadFile(filepath.Join(goEnv(t, "GOROOT"), "src", "image", "testdata", "video-001.cmyk.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	adobe := bytes.Index(cmyk, []byte("Adobe"))
	cmykNoAdobe := bytes.Clone(cmyk)
	cmykNoAdobe[adobe+4] = 'x'

	checkMutations(t, ".jpeg", []mutation{
		{name: "as encoded", data: base},
		{name: "stray bytes between segments", data: splice(base, sof, 0, []byte{0x00, 0x11, 0x22})},
		{name: "fill bytes before a marker", data: splice(base, sof, 0, []byte{0xFF, 0xFF, 0xFF})},
		{name: "comment and a 60 KB APP1 segment", data: splice(base, 2, 0, segment(jpegCOM, []byte("hello")), segment(0xE1, make([]byte, 60000)))},
		{name: "restart marker after the scan", data: splice(base, eoi, 0, []byte{0xFF, 0xD3})},
		{name: "zeros after EOI", data: cat(base, make([]byte, 10000))},
		{name: "another JPEG after EOI", data: cat(base, base)},

		{name: "no Huffman tables", data: splice(base, dht, dhtLen), want: ReasonCorrupt},
		{name: "no frame header", data: splice(base, sof, sofLen), want: ReasonCorrupt},
		{name: "no scan", data: splice(base, sos, eoi-sos), want: ReasonCorrupt},
		{name: "unknown marker FF 01", data: splice(base, sof, 0, segment(0x01, nil)), want: ReasonCorrupt},
		{name: "second frame header", data: splice(base, sos, 0, base[sof:sof+sofLen]), want: ReasonCorrupt},
		{name: "second start of image", data: splice(base, sof, 0, []byte{0xFF, jpegSOI}), want: ReasonCorrupt},
		{name: "segment length 1", data: splice(base, sof, 0, []byte{0xFF, jpegCOM, 0, 1}), want: ReasonCorrupt},
		{name: "quantization precision 2", data: with(dqt+4, 0x20), want: ReasonCorrupt},
		{name: "quantization segment too short", data: splice(base, dqt+2, 2, []byte{byte((dqtLen - 3) >> 8), byte(dqtLen - 3)}), want: ReasonCorrupt},
		{name: "Huffman table with no codes", data: splice(base, dht+5, 16, make([]byte, 16)), want: ReasonCorrupt},
		{name: "Huffman table id 2 in a baseline JPEG", data: with(dht+4, base[dht+4]|2), want: ReasonCorrupt},
		{name: "scan names an unknown component", data: with(sos+5, 9), want: ReasonCorrupt},
		{name: "scan header length odd", data: with(sos+3, byte(sosLen-1)), want: ReasonCorrupt},
		{name: "sampling factor 5", data: with(sof+11, 0x51), want: ReasonCorrupt},
		{name: "sampling factor 3", data: with(sof+11, 0x31), want: ReasonUnsupportedType},
		{name: "arithmetic coding (SOF9)", data: with(sof+1, 0xC9), want: ReasonUnsupportedType},
		{name: "lossless coding (SOF3)", data: with(sof+1, 0xC3), want: ReasonUnsupportedType},
		{name: "12-bit samples", data: with(sof+4, 12), want: ReasonUnsupportedType},
		{name: "DNL marker", data: splice(base, sof, 0, segment(0xDC, []byte{0, 24})), want: ReasonUnsupportedType},
		{name: "4 components without Adobe APP14", data: cmykNoAdobe, want: ReasonUnsupportedType},
		{name: "4 components with Adobe APP14", data: cmyk},
		{name: "height 0", data: splice(base, sof+5, 2, []byte{0, 0}), want: ReasonCorrupt,
			policy: "a zero-dimension image is refused whatever a decoder makes of it"},

		{name: "cut in the header", data: base[:sof+3], want: ReasonCorrupt},
		{name: "cut in the scan", data: base[:sos+sosLen+(eoi-sos-sosLen)/2], want: ReasonCorrupt},
		{name: "cut before EOI", data: base[:eoi], want: ReasonCorrupt},
		{name: "cut inside EOI", data: base[:eoi+1], want: ReasonCorrupt},
	})
}

func TestPNGWalk(t *testing.T) {
	t.Parallel()
	sig, ch := pngChunks(t, encodePNG(t, mediagen.Noise(20, 10, 2))) // IHDR, IDAT, IEND
	ihdr, idat, iend := ch[0], ch[1], ch[len(ch)-1]
	if len(ch) != 3 || string(ihdr[4:8]) != "IHDR" || string(idat[4:8]) != "IDAT" || string(iend[4:8]) != "IEND" {
		t.Fatalf("unexpected chunks in the encoded PNG: %d", len(ch))
	}
	base := cat(sig, ihdr, idat, iend)
	ihdrWith := func(i int, b byte) []byte {
		data := bytes.Clone(ihdr[8:21])
		data[i] = b
		return pngChunk("IHDR", data)
	}
	// Split the image data over several IDAT chunks.
	zdata := idat[8 : len(idat)-4]
	split := cat(sig, ihdr, pngChunk("IDAT", zdata[:10]), pngChunk("IDAT", zdata[10:20]), pngChunk("IDAT", zdata[20:]), iend)
	badCRC := bytes.Clone(base)
	badCRC[len(sig)+len(ihdr)+len(idat)-1] ^= 0x40

	pal := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White, color.Transparent})
	pal.Pix[3] = 1
	psig, pch := pngChunks(t, encodePNG(t, pal)) // IHDR, PLTE, tRNS, IDAT, IEND
	if len(pch) != 5 || string(pch[1][4:8]) != "PLTE" || string(pch[2][4:8]) != "tRNS" {
		t.Fatalf("unexpected chunks in the encoded paletted PNG")
	}
	paletted := cat(append([][]byte{psig}, pch...)...)

	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	gsig, gch := pngChunks(t, encodePNG(t, gray))

	checkMutations(t, ".png", []mutation{
		{name: "as encoded", data: base},
		{name: "image data in three IDAT chunks", data: split},
		{name: "text chunks before and after the image data", data: cat(sig, ihdr, pngChunk("tEXt", []byte("Title\x00shop")), idat, pngChunk("tEXt", []byte("a\x00b")), iend)},
		{name: "ancillary chunk before IHDR", data: cat(sig, pngChunk("tEXt", []byte("a\x00b")), ihdr, idat, iend)},
		{name: "bytes after IEND", data: cat(base, []byte("some tool's trailer"))},
		{name: "paletted with tRNS", data: paletted},

		{name: "bad CRC", data: badCRC, want: ReasonCorrupt},
		{name: "bad CRC in an ancillary chunk", data: cat(sig, ihdr, pngChunk("tEXt", []byte("a\x00b"))[:11], []byte{1, 2, 3, 4}, idat, iend), want: ReasonCorrupt},
		{name: "no IHDR", data: cat(sig, idat, iend), want: ReasonCorrupt},
		{name: "two IHDR", data: cat(sig, ihdr, ihdr, idat, iend), want: ReasonCorrupt},
		{name: "no IDAT", data: cat(sig, ihdr, iend), want: ReasonCorrupt},
		{name: "IEND with data", data: cat(sig, ihdr, idat, pngChunk("IEND", []byte{0})), want: ReasonCorrupt},
		{name: "IHDR of 12 bytes", data: cat(sig, pngChunk("IHDR", ihdr[8:20]), idat, iend), want: ReasonCorrupt},
		{name: "width 0", data: cat(sig, pngChunk("IHDR", append(make([]byte, 4), ihdr[12:21]...)), idat, iend), want: ReasonCorrupt},
		{name: "bit depth 3", data: cat(sig, ihdrWith(8, 3), idat, iend), want: ReasonCorrupt},
		{name: "colour type 1", data: cat(sig, ihdrWith(9, 1), idat, iend), want: ReasonCorrupt},
		{name: "interlace method 2", data: cat(sig, ihdrWith(12, 2), idat, iend), want: ReasonCorrupt},
		{name: "paletted without PLTE", data: cat(psig, pch[0], pch[3], pch[4]), want: ReasonCorrupt},
		{name: "PLTE after tRNS", data: cat(psig, pch[0], pch[2], pch[1], pch[3], pch[4]), want: ReasonCorrupt},
		{name: "PLTE of 4 bytes", data: cat(psig, pch[0], pngChunk("PLTE", []byte{1, 2, 3, 4}), pch[3], pch[4]), want: ReasonCorrupt},
		{name: "PLTE in a grey image", data: cat(gsig, gch[0], pngChunk("PLTE", []byte{1, 2, 3}), gch[1], gch[2]), want: ReasonCorrupt},
		{name: "tRNS of 3 bytes in a grey image", data: cat(gsig, gch[0], pngChunk("tRNS", []byte{1, 2, 3}), gch[1], gch[2]), want: ReasonCorrupt},
		{name: "tRNS in an RGBA image", data: cat(sig, ihdrWith(9, 6), pngChunk("tRNS", make([]byte, 6)), idat, iend), want: ReasonCorrupt},
		{name: "chunk longer than the file", data: cat(sig, ihdr, idat[:4], []byte("IDAT"), make([]byte, 20)), want: ReasonCorrupt},

		{name: "cut in the signature", data: base[:5], want: ReasonCorrupt},
		{name: "cut in the image data", data: base[:len(sig)+len(ihdr)+len(idat)/2], want: ReasonCorrupt},
		{name: "cut before IEND", data: base[:len(base)-12], want: ReasonCorrupt},
		{name: "cut in IEND's CRC", data: base[:len(base)-1], want: ReasonCorrupt},
	})
}

func TestGIFWalk(t *testing.T) {
	t.Parallel()
	frame := func(r image.Rectangle, c uint8) *image.Paletted {
		m := image.NewPaletted(r, palette.Plan9)
		for i := range m.Pix {
			m.Pix[i] = c + uint8(i%7)
		}
		return m
	}
	g := &gif.GIF{
		Image:  []*image.Paletted{frame(image.Rect(0, 0, 30, 20), 1), frame(image.Rect(5, 5, 25, 15), 9)},
		Delay:  []int{10, 10},
		Config: image.Config{ColorModel: color.Palette(palette.Plan9), Width: 30, Height: 20},
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	base := b.Bytes()
	// Go writes the header and screen (13 bytes), the global colour table
	// (768), a loop extension, then per frame a graphic control extension
	// (8 bytes), a descriptor and the LZW data.
	const table = 13 + 768
	gce := bytes.Index(base[table:], []byte{0x21, 0xF9, 0x04}) + table
	desc := gce + 8
	if base[10]&0x80 == 0 || base[table] != 0x21 || gce < table || base[desc] != 0x2C {
		t.Fatalf("unexpected layout: % x", base[:16])
	}
	end := len(base) - 1
	with := func(i int, v byte) []byte {
		c := bytes.Clone(base)
		c[i] = v
		return c
	}
	plainText := cat([]byte{0x21, 0x01, 12}, make([]byte, 12), []byte{3, 'a', 'b', 'c', 0})
	netscape := cat([]byte{0x21, 0xFF, 11}, []byte("NETSCAPE2.0"), []byte{3, 1, 0, 0, 0})

	checkMutations(t, ".gif", []mutation{
		{name: "as encoded", data: base},
		{name: "comment, plain text and loop extensions", data: splice(base, table, 0, []byte{0x21, 0xFE, 2, 'h', 'i', 0}, plainText, netscape)},
		{name: "bytes after the trailer", data: cat(base, []byte("GIF89a and more"))},

		{name: "graphic control block size 5", data: with(gce+2, 5), want: ReasonCorrupt},
		{name: "graphic control without terminator", data: with(gce+7, 1), want: ReasonCorrupt},
		{name: "unknown extension", data: with(table+1, 0x99), want: ReasonCorrupt},
		{name: "unknown block", data: with(table, 0x99), want: ReasonCorrupt},
		{name: "frame wider than the screen", data: with(desc+6, 1), want: ReasonCorrupt},
		{name: "LZW code size 9", data: with(desc+10, 9), want: ReasonCorrupt},
		{name: "LZW code size 1", data: with(desc+10, 1), want: ReasonCorrupt},
		{name: "trailer before any image", data: cat(base[:table], []byte{0x3B}), want: ReasonCorrupt},
		{name: "signature GIF88a", data: with(4, '8'), want: ReasonCorrupt},
		{name: "screen width 0", data: splice(base, 6, 2, []byte{0, 0}), want: ReasonCorrupt,
			policy: "a zero-dimension image is refused whatever a decoder makes of it"},

		{name: "cut in the colour table", data: base[:100], want: ReasonCorrupt},
		{name: "cut in the image data", data: base[:desc+20], want: ReasonCorrupt},
		{name: "cut before the trailer", data: base[:end], want: ReasonCorrupt},
	})
}

// Cut anywhere, every sample is refused as corrupt, by Check and by a
// Stream, and the message says it is cut short (BMP: that the pixels do
// not fit).
func TestEveryCutIsRefused(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	for _, file := range []string{"photo.jpg", "photo.jpeg", "photo.png", "anim.gif", "photo.bmp", "clip.mp4"} {
		data := readSample(t, file)
		for cut := 1; cut < len(data); cut++ {
			_, err := checkBoth(t, v, data[:cut], 64)
			if ReasonOf(err) == "" {
				t.Fatalf("%s cut to %d bytes: %v", file, cut, err)
			}
			if cut < 32 {
				continue // too short to be told apart from other content
			}
			if ReasonOf(err) != ReasonCorrupt || !strings.Contains(err.Error(), "cut short") {
				t.Fatalf("%s cut to %d bytes: %v", file, cut, err)
			}
		}
	}
}

// A Stream gives Check's answer however the content is split into writes.
func TestStreamPieces(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	files := []string{"photo.jpg", "photo.jpeg", "photo.png", "anim.gif", "photo.bmp", "clip.mp4",
		"bad/text.jpg", "bad/quicktime.mov", "bad/truncated.jpg", "bad/truncated-header.jpg",
		"bad/truncated.png", "bad/truncated.gif", "bad/truncated.bmp", "bad/truncated.mp4"}
	for _, file := range files {
		data := readSample(t, file)
		for _, step := range []int{1, 2, 3, 7, 64, 511, 512, 513, 4096} {
			checkBoth(t, v, data, step)
		}
	}
}

func TestStreamMisuse(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	data := readSample(t, "photo.png")

	s, err := v.Begin(int64(len(data)), "png", "p.png")
	if err != nil {
		t.Fatal(err)
	}
	if info := s.Info(); info.Type != "" || info.Size != int64(len(data)) {
		t.Errorf("Info before any byte: %+v", info)
	}
	if _, err := s.Write(data[:100]); err != nil {
		t.Fatal(err)
	}
	if s.Info().Type != "" {
		t.Error("type known before the head is complete")
	}
	if _, err := s.Write(data[100:HeadSize]); err != nil {
		t.Fatal(err)
	}
	if info := s.Info(); info.Type != "png" || info.MIME != "image/png" || info.Width != 0 {
		t.Errorf("Info after the head: %+v", info)
	}
	// Finishing early: the content is shorter than stated.
	_, err = s.Finish()
	wantReason(t, err, ReasonCorrupt)
	if _, err2 := s.Write(data[HeadSize:]); err2 != err {
		t.Errorf("Write after a rejection: %v, want the rejection again", err2)
	}

	// Writing more than the size is the caller's error, not a rejection.
	s, _ = v.Begin(int64(len(data)), "", "p.png")
	if _, err := s.Write(append(bytes.Clone(data), 0)); err == nil || ReasonOf(err) != "" {
		t.Errorf("writing one byte too many: %v", err)
	}

	// The fields are checked before any content.
	for _, c := range []struct {
		size           int64
		declared, name string
		want           Reason
	}{
		{10, "png", "", ReasonBadName},
		{10, "tiff", "x", ReasonUnsupportedType},
		{0, "", "x", ReasonEmpty},
		{DefaultMaxSize + 1, "", "x", ReasonTooLarge},
	} {
		s, err := v.Begin(c.size, c.declared, c.name)
		wantReason(t, err, c.want)
		if s != nil {
			t.Errorf("Begin(%d, %q, %q) returned a Stream with its rejection", c.size, c.declared, c.name)
		}
	}

	// Type mismatch, and formats that are not allowed, show with the head.
	for _, c := range []struct {
		head     string
		declared string
		want     Reason
	}{
		{"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "", ReasonUnsupportedType},
		{"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "", ReasonUnsupportedType},
		{"II*\x00\x08\x00\x00\x00\x00\x00", "", ReasonUnsupportedType},
		{string(data), "jpg", ReasonTypeMismatch},
	} {
		s, err := v.Begin(int64(len(c.head)), c.declared, "x")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Write([]byte(c.head))
		wantReason(t, err, c.want)
	}
}

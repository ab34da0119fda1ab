package validate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/storemedia/alipay-media-worker/internal/badnames"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

const mediaDir = "../testdata/media"

// openSample opens a sample file; the test fails if it is missing.
func openSample(t testing.TB, name string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(filepath.Join(mediaDir, name))
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mediaDir, name))
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	return b
}

func newValidator(t testing.TB, cfg Config) *Validator {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return v
}

// wantReason fails the test unless err is a rejection with the given reason
// (or nil when want is "").
func wantReason(t *testing.T, err error, want Reason) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted; want rejection %q", want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *validate.Error", err, err)
	}
	if e.Reason != want {
		t.Fatalf("reason %q, want %q (error: %v)", e.Reason, want, err)
	}
	if !errors.Is(err, want.Sentinel()) {
		t.Fatalf("errors.Is(err, %v) is false", want.Sentinel())
	}
	if ReasonOf(err) != want {
		t.Fatalf("ReasonOf = %q, want %q", ReasonOf(err), want)
	}
	t.Logf("rejected as expected: %v", err)
}

func TestCheckSamples(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	tests := []struct {
		file, declared string
		want           Reason
		typ            string
		w, h           int
	}{
		{file: "photo.jpg", declared: "jpg", typ: "jpg", w: 64, h: 48},
		{file: "photo.jpg", declared: "jpeg", typ: "jpg", w: 64, h: 48},
		{file: "photo.jpg", declared: "JPG", typ: "jpg", w: 64, h: 48},
		{file: "photo.jpeg", declared: "jpeg", typ: "jpg", w: 48, h: 32},
		{file: "photo.jpeg", declared: "jpg", typ: "jpg", w: 48, h: 32},
		{file: "photo.jpeg", declared: "", typ: "jpg", w: 48, h: 32},
		{file: "photo.png", declared: "png", typ: "png", w: 64, h: 48},
		{file: "anim.gif", declared: "gif", typ: "gif", w: 64, h: 48},
		{file: "photo.bmp", declared: "bmp", typ: "bmp", w: 16, h: 12},
		{file: "clip.mp4", declared: "mp4", typ: "mp4"},
		{file: "clip.mp4", declared: "", typ: "mp4"},

		{file: "photo.png", declared: "jpg", want: ReasonTypeMismatch},
		{file: "photo.jpg", declared: "png", want: ReasonTypeMismatch},
		{file: "clip.mp4", declared: "jpg", want: ReasonTypeMismatch},
		{file: "photo.jpg", declared: "mp4", want: ReasonTypeMismatch},
		{file: "photo.jpg", declared: "webp", want: ReasonUnsupportedType},
		{file: "photo.jpg", declared: "j.pg", want: ReasonBadImageType},

		{file: "bad/empty.jpg", declared: "jpg", want: ReasonEmpty},
		{file: "bad/text.jpg", declared: "jpg", want: ReasonUnsupportedType},
		{file: "bad/text.jpg", declared: "", want: ReasonUnsupportedType},
		{file: "bad/quicktime.mov", declared: "mp4", want: ReasonUnsupportedType},
		{file: "bad/quicktime.mov", declared: "", want: ReasonUnsupportedType},
		{file: "bad/truncated.jpg", declared: "jpg", want: ReasonCorrupt},
		{file: "bad/truncated-header.jpg", declared: "jpg", want: ReasonCorrupt},
		{file: "bad/truncated.png", declared: "png", want: ReasonCorrupt},
		{file: "bad/truncated.gif", declared: "gif", want: ReasonCorrupt},
		{file: "bad/truncated.bmp", declared: "bmp", want: ReasonCorrupt},
		{file: "bad/truncated.mp4", declared: "mp4", want: ReasonCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.declared, func(t *testing.T) {
			t.Parallel()
			f, size := openSample(t, tc.file)
			info, err := v.Check(f, size, tc.declared, filepath.Base(tc.file))
			wantReason(t, err, tc.want)
			if tc.want != "" {
				if info != (Info{}) {
					t.Errorf("rejected but Info is %+v", info)
				}
				return
			}
			want := Info{Type: tc.typ, MIME: ContentType(tc.typ), Width: tc.w, Height: tc.h, Size: size}
			if info != want {
				t.Errorf("Info = %+v, want %+v", info, want)
			}
		})
	}
}

// TestMessages checks that messages name what was found and what to do.
func TestMessages(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	tests := []struct {
		file, declared string
		contains       []string
	}{
		{"bad/quicktime.mov", "mp4", []string{"image_content", "unsupported_type", "QuickTime", "not MP4", "allowed: jpg (or jpeg), png, gif, bmp, mp4", "MP4"}},
		{"bad/text.jpg", "jpg", []string{"not a recognised image or video format", `starts with "This is a plain "`, "text"}},
		{"photo.png", "jpg", []string{"image_type", `image_type says "jpg" but the content is png`, `set image_type to "png"`}},
		{"bad/truncated.jpg", "jpg", []string{"corrupt", "FF D9", "cut short"}},
		{"bad/truncated.png", "png", []string{"corrupt", "IEND"}},
		{"bad/truncated.mp4", "mp4", []string{"corrupt", `box "mdat"`, "only"}},
		{"bad/empty.jpg", "jpg", []string{"empty", "0 bytes"}},
	}
	for _, tc := range tests {
		f, size := openSample(t, tc.file)
		_, err := v.Check(f, size, tc.declared, "x")
		if err == nil {
			t.Fatalf("%s accepted", tc.file)
		}
		for _, s := range tc.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: message %q lacks %q", tc.file, err, s)
			}
		}
	}
}

// padMP4 returns clip.mp4 grown to exactly total bytes by a trailing free
// box: a valid MP4 of any size, without committing big files.
func padMP4(t testing.TB, total int64) []byte {
	t.Helper()
	base := readSample(t, "clip.mp4")
	pad := total - int64(len(base))
	if pad < 8 {
		t.Fatalf("cannot pad %d bytes to %d", len(base), total)
	}
	return append(base, mediagen.Box("free", make([]byte, pad-8))...)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r  io.ReaderAt
	mu sync.Mutex
	n  int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	dir := t.TempDir()
	for _, tc := range []struct {
		size int64
		want Reason
	}{
		{5242880, ""},
		{5242881, ReasonTooLarge},
	} {
		path := filepath.Join(dir, "big.mp4")
		if err := os.WriteFile(path, padMP4(t, tc.size), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cr := &countingReader{r: f}
		info, err := v.Check(cr, tc.size, "mp4", "big.mp4")
		f.Close()
		wantReason(t, err, tc.want)
		if tc.want == "" && info.Size != tc.size {
			t.Errorf("Info.Size = %d, want %d", info.Size, tc.size)
		}
		// Only box headers are read: a few KB at most, not megabytes.
		if cr.n > 4096 {
			t.Errorf("size %d: read %d bytes to decide", tc.size, cr.n)
		}
		if tc.want == ReasonTooLarge {
			if cr.n != 0 {
				t.Errorf("read %d bytes of a file that is too large by its size alone", cr.n)
			}
			if !strings.Contains(err.Error(), "5242881 bytes, over the limit of 5242880 bytes (5 MiB)") {
				t.Errorf("message: %v", err)
			}
		}
		os.Remove(path)
	}
}

func TestConfiguredLimitAndTypes(t *testing.T) {
	t.Parallel()
	small := newValidator(t, Config{MaxSize: 1000})
	f, size := openSample(t, "photo.jpg") // 1353 bytes
	_, err := small.Check(f, size, "jpg", "p")
	wantReason(t, err, ReasonTooLarge)
	if err := small.CheckSize(1000); err != nil {
		t.Errorf("CheckSize(limit): %v", err)
	}
	if small.MaxSize() != 1000 {
		t.Errorf("MaxSize = %d", small.MaxSize())
	}

	big := newValidator(t, Config{MaxSize: 50 << 20})
	data := padMP4(t, 6<<20)
	if _, err := big.Check(bytes.NewReader(data), int64(len(data)), "mp4", "v"); err != nil {
		t.Errorf("6 MiB with a 50 MiB limit: %v", err)
	}

	onlyJPEG := newValidator(t, Config{Allowed: []string{"JPEG"}})
	if got := onlyJPEG.allowedTypes(); len(got) != 1 || got[0] != "jpg" {
		t.Errorf("Allowed = %v, want [jpg]", got)
	}
	png, psize := openSample(t, "photo.png")
	_, err = onlyJPEG.Check(png, psize, "", "p")
	wantReason(t, err, ReasonUnsupportedType)
	_, err = onlyJPEG.Check(png, psize, "png", "p")
	wantReason(t, err, ReasonUnsupportedType)
	var e *Error
	if errors.As(err, &e) && e.Field != FieldImageType {
		t.Errorf("declared png with png not allowed: field %q, want image_type", e.Field)
	}
	jpg, jsize := openSample(t, "photo.jpg")
	if _, err := onlyJPEG.Check(jpg, jsize, "jpg", "p"); err != nil {
		t.Errorf("jpg with only jpeg allowed: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	if got, want := strings.Join(v.allowedTypes(), ","), "jpg,png,gif,bmp,mp4"; got != want {
		t.Errorf("Allowed = %s, want %s", got, want)
	}
	if v.MaxSize() != 5242880 || DefaultMaxSize != 5242880 {
		t.Errorf("MaxSize = %d, DefaultMaxSize = %d", v.MaxSize(), DefaultMaxSize)
	}
	// Allowed returns a copy.
	v.allowedTypes()[0] = "xxx"
	if v.allowedTypes()[0] != "jpg" {
		t.Error("Allowed exposes internal state")
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{MaxSize: -1},
		{Allowed: []string{"jpg", "webp"}},
		{Allowed: []string{"mov"}},
		{Allowed: []string{""}},
	} {
		if v, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = %v, want error", cfg, v)
		} else {
			t.Logf("New(%+v): %v", cfg, err)
		}
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	tests := []struct {
		name string
		ok   bool
	}{
		{"shop-front.jpg", true},
		{"门店照片 1.jpg", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("店", 128), true}, // 384 bytes, 128 characters
		{strings.Repeat("a", 129), false},
		{strings.Repeat("店", 129), false},
		{"", false},
		{"   ", false},
		{"\u3000", false}, // ideographic space only
		{"a\tb", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\x1b[31mb", false},
		{"a\u0085b", false}, // C1 control
		{"a\x7fb", false},
		{"bad\xffutf8", false},
		{" leading and trailing ", true},
	}
	for _, tc := range tests {
		err := v.CheckName(tc.name)
		if tc.ok {
			wantReason(t, err, "")
		} else {
			wantReason(t, err, ReasonBadName)
		}
	}
	// Check applies the name rules first.
	f, size := openSample(t, "photo.jpg")
	_, err := v.Check(f, size, "jpg", "")
	wantReason(t, err, ReasonBadName)
}

func TestCheckType(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	tests := []struct {
		in   string
		want string
		err  Reason
	}{
		{"jpg", "jpg", ""},
		{"jpeg", "jpg", ""},
		{"JPEG", "jpg", ""},
		{"Png", "png", ""},
		{"gif", "gif", ""},
		{"bmp", "bmp", ""},
		{"mp4", "mp4", ""},
		{"", "", ReasonBadImageType},
		{"jpegjpeg", "", ReasonUnsupportedType}, // 8 chars: well-formed
		{"jpegjpegj", "", ReasonBadImageType},   // 9 chars
		{".jpg", "", ReasonBadImageType},
		{"jp g", "", ReasonBadImageType},
		{"jpg ", "", ReasonBadImageType},
		{"图片", "", ReasonBadImageType},
		{"mov", "", ReasonUnsupportedType},
		{"webp", "", ReasonUnsupportedType},
	}
	for _, tc := range tests {
		got, err := v.CheckType(tc.in)
		wantReason(t, err, tc.err)
		if got != tc.want {
			t.Errorf("CheckType(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalAndContentType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"jpeg": "jpg", "JPG": "jpg", "Jpeg": "jpg", "png": "png", "MP4": "mp4", "webp": "webp"} {
		if got := CanonicalType(in); got != want {
			t.Errorf("CanonicalType(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"jpg": "image/jpeg", "jpeg": "image/jpeg", "JPG": "image/jpeg", "png": "image/png",
		"gif": "image/gif", "bmp": "image/bmp", "mp4": "video/mp4",
		"mov": "application/octet-stream", "": "application/octet-stream",
	} {
		if got := ContentType(in); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", in, got, want)
		}
	}
	if got := strings.Join(supportedTypes(), ","); got != "jpg,png,gif,bmp,mp4" {
		t.Errorf("supportedTypes() = %s", got)
	}
}

func TestReasons(t *testing.T) {
	t.Parallel()
	want := []Reason{"empty", "too_large", "unsupported_type", "type_mismatch", "corrupt", "bad_name", "bad_image_type"}
	got := reasonTable.Reasons()
	if len(got) != len(want) {
		t.Fatalf("reasonTable.Reasons() = %v", got)
	}
	seen := map[error]bool{}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reasonTable.Reasons()[%d] = %q, want %q", i, got[i], want[i])
		}
		s := got[i].Sentinel()
		if s == nil || seen[s] || !strings.HasPrefix(s.Error(), "validate: ") {
			t.Errorf("sentinel of %q: %v", got[i], s)
		}
		seen[s] = true
		e := &Error{Reason: got[i], Field: FieldContent}
		for _, other := range want {
			if errors.Is(e, other.Sentinel()) != (other == got[i]) {
				t.Errorf("errors.Is(%q error, sentinel of %q) wrong", got[i], other)
			}
		}
	}
	if Reason("nope").Sentinel() != nil {
		t.Error("unknown reason has a sentinel")
	}
	if ReasonOf(nil) != "" || ReasonOf(io.EOF) != "" {
		t.Error("ReasonOf of a non-rejection is not empty")
	}
}

// failingReader fails every read after the first limit bytes.
type failingReader struct {
	data  []byte
	limit int64
	err   error
}

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, f.err
	}
	return copy(p, f.data[off:]), nil
}

func TestIOErrorIsNotARejection(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	boom := errors.New("disk on fire")
	tests := []struct {
		file  string
		limit int64 // reads reaching past this offset fail
		ok    bool
	}{
		{"photo.jpg", 0, false},
		{"photo.jpg", 1352, false}, // header fine, the tail read fails
		{"photo.png", 0, false},
		{"photo.png", 553, false},
		{"anim.gif", 0, false},
		{"anim.gif", 2079, false},
		{"clip.mp4", 0, false},
		{"clip.mp4", 520, false}, // the head is fine, a later box header is not
		{"photo.bmp", 0, false},
		{"photo.bmp", 600, true}, // a BMP is decided from its head alone
	}
	for _, tc := range tests {
		data := readSample(t, tc.file)
		r := &failingReader{data: data, limit: tc.limit, err: boom}
		_, err := v.Check(r, int64(len(data)), "", tc.file)
		if tc.ok {
			if err != nil {
				t.Errorf("%s limit %d: %v", tc.file, tc.limit, err)
			}
			continue
		}
		if !errors.Is(err, boom) {
			t.Errorf("%s limit %d: error %v does not wrap the read error", tc.file, tc.limit, err)
		}
		if ReasonOf(err) != "" {
			t.Errorf("%s limit %d: I/O error reported as rejection %q", tc.file, tc.limit, ReasonOf(err))
		}
	}
}

// A ReaderAt shorter than the stated size means the content is cut short.
func TestShorterThanStated(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	for _, file := range []string{"photo.jpg", "photo.png", "anim.gif", "clip.mp4", "bad/text.jpg"} {
		data := readSample(t, file)
		_, err := v.Check(bytes.NewReader(data), int64(len(data))+10, "", "x")
		wantReason(t, err, ReasonCorrupt)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestMP4Structure(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	ftyp := mediagen.Box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
	ftyp20 := mediagen.Box("ftyp", []byte("isom\x00\x00\x02\x00isom")) // also matches filetype's mov rule
	moov := mediagen.Box("moov", mediagen.Box("mvhd", make([]byte, 100)))
	mdat := mediagen.Box("mdat", make([]byte, 64))
	large := func(typ string, body []byte) []byte {
		b := make([]byte, 16, 16+len(body))
		binary.BigEndian.PutUint32(b, 1)
		copy(b[4:], typ)
		binary.BigEndian.PutUint64(b[8:], uint64(16+len(body)))
		return append(b, body...)
	}
	toEnd := func(typ string, body []byte) []byte {
		b := mediagen.Box(typ, body)
		binary.BigEndian.PutUint32(b, 0)
		return b
	}
	manyFree := bytes.Repeat(mediagen.Box("free", nil), maxTopLevelBoxes)
	tests := []struct {
		name string
		data []byte
		want Reason
	}{
		{"plain", cat(ftyp, moov, mdat), ""},
		{"moov last", cat(ftyp, mdat, moov), ""},
		{"ftyp of 20 bytes", cat(ftyp20, moov, mdat), ""},
		{"64-bit mdat", cat(ftyp, moov, large("mdat", make([]byte, 40))), ""},
		{"mdat to end", cat(ftyp, moov, toEnd("mdat", make([]byte, 40))), ""},
		{"quicktime brand", cat(mediagen.Box("ftyp", []byte("qt  \x00\x00\x02\x00qt  ")), moov, mdat), ReasonUnsupportedType},
		{"no moov", cat(ftyp, mdat), ReasonCorrupt},
		{"mdat overruns", cat(ftyp, moov, mdat)[:len(ftyp)+len(moov)+len(mdat)-1], ReasonCorrupt},
		{"stray bytes", cat(ftyp, moov, mdat, []byte{0, 0, 0}), ReasonCorrupt},
		{"box smaller than header", cat(ftyp, moov, []byte{0, 0, 0, 4, 'f', 'r', 'e', 'e'}), ReasonCorrupt},
		{"unprintable type", cat(ftyp, moov, mediagen.Box("\x00\x01\x02\x03", nil)), ReasonCorrupt},
		{"64-bit size overruns", cat(ftyp, moov, large("mdat", make([]byte, 40))[:50]), ReasonCorrupt},
		{"64-bit header cut", cat(ftyp, moov, large("mdat", nil)[:12]), ReasonCorrupt},
		{"ftyp body not brands", cat(mediagen.Box("ftyp", []byte("isom\x00\x00\x02\x00isomi")), moov), ReasonCorrupt},
		{"ftyp to end", cat(toEnd("ftyp", []byte("isom\x00\x00\x02\x00isom"))), ReasonCorrupt},
		{"too many boxes", cat(ftyp, moov, mdat, manyFree), ReasonCorrupt},
		{"many boxes within bound", cat(ftyp, moov, mdat, manyFree[:8*(maxTopLevelBoxes-3)]), ""},
		{"no mdat", cat(ftyp, moov, mediagen.Box("free", nil)), ReasonCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			info, err := v.Check(bytes.NewReader(tc.data), int64(len(tc.data)), "mp4", "v.mp4")
			wantReason(t, err, tc.want)
			if tc.want == "" && (info.Type != "mp4" || info.MIME != "video/mp4") {
				t.Errorf("Info = %+v", info)
			}
		})
	}
}

// bmpFile builds a BMP with a BITMAPINFOHEADER and zeroed pixels.
func bmpFile(w, h int32, bpp uint16, compression uint32, pixels int) []byte {
	return append(mediagen.BMPHeader(w, h, bpp, compression, uint32(pixels)), make([]byte, pixels)...)
}

func TestBMPStructure(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	le := binary.LittleEndian
	with := func(b []byte, f func([]byte)) []byte {
		c := bytes.Clone(b)
		f(c)
		return c
	}
	ok := bmpFile(3, 2, 24, 0, 2*12) // rows of 9 bytes padded to 12
	core := make([]byte, 26+2*4)     // OS/2 header, 1x2 at 24 bits
	copy(core, "BM")
	le.PutUint32(core[10:], 26)
	le.PutUint32(core[14:], 12)
	le.PutUint16(core[18:], 1)
	le.PutUint16(core[20:], 2)
	le.PutUint16(core[22:], 1)
	le.PutUint16(core[24:], 24)
	tests := []struct {
		name string
		data []byte
		want Reason
		w, h int
	}{
		{"bottom-up", ok, "", 3, 2},
		{"top-down", with(ok, func(b []byte) { le.PutUint32(b[22:], uint32(0xFFFFFFFE)) }), "", 3, 2},
		{"file size field 0", with(ok, func(b []byte) { le.PutUint32(b[2:], 0) }), "", 3, 2},
		{"os2 core header", core, "", 1, 2},
		{"rle8 with image size", with(bmpFile(4, 4, 8, 1, 10), func(b []byte) { le.PutUint32(b[34:], 10) }), "", 4, 4},
		{"pixels cut", ok[:len(ok)-1], ReasonCorrupt, 0, 0},
		// The declared file size is often wrong; the pixels decide.
		{"declared size beyond file", with(ok, func(b []byte) { le.PutUint32(b[2:], uint32(len(ok)+1)) }), "", 3, 2},
		{"zero width", with(ok, func(b []byte) { le.PutUint32(b[18:], 0) }), ReasonCorrupt, 0, 0},
		{"negative width", with(ok, func(b []byte) { le.PutUint32(b[18:], uint32(0xFFFFFFFF)) }), ReasonCorrupt, 0, 0},
		{"zero height", with(ok, func(b []byte) { le.PutUint32(b[22:], 0) }), ReasonCorrupt, 0, 0},
		{"huge height", with(ok, func(b []byte) { le.PutUint32(b[22:], 0x80000000) }), ReasonCorrupt, 0, 0},
		{"planes 2", with(ok, func(b []byte) { le.PutUint16(b[26:], 2) }), ReasonCorrupt, 0, 0},
		{"bit depth 7", with(ok, func(b []byte) { le.PutUint16(b[28:], 7) }), ReasonCorrupt, 0, 0},
		{"compression 9", with(ok, func(b []byte) { le.PutUint32(b[30:], 9) }), ReasonCorrupt, 0, 0},
		{"rle image size overruns", with(bmpFile(4, 4, 8, 1, 10), func(b []byte) { le.PutUint32(b[34:], 11) }), ReasonCorrupt, 0, 0},
		{"dib size 41", with(ok, func(b []byte) { le.PutUint32(b[14:], 41) }), ReasonCorrupt, 0, 0},
		{"pixel offset inside header", with(ok, func(b []byte) { le.PutUint32(b[10:], 20) }), ReasonCorrupt, 0, 0},
		{"pixel offset past end", with(ok, func(b []byte) { le.PutUint32(b[10:], uint32(len(ok))) }), ReasonCorrupt, 0, 0},
		{"header only", ok[:20], ReasonCorrupt, 0, 0},
		{"text starting BM", []byte("BMW and Mercedes are cars, not pictures."), ReasonCorrupt, 0, 0},
	}
	for _, tc := range tests {
		info, err := v.Check(bytes.NewReader(tc.data), int64(len(tc.data)), "bmp", tc.name)
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, err, tc.want)
			if tc.want == "" && (info.Width != tc.w || info.Height != tc.h || info.Type != "bmp") {
				t.Errorf("Info = %+v, want %dx%d bmp", info, tc.w, tc.h)
			}
		})
	}
}

// JPEG codings few decoders implement are refused as unsupported, whatever
// the trailer says.
func TestJPEGUnsupportedCoding(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	data := readSample(t, "photo.jpg")
	i := bytes.Index(data, []byte{0xFF, 0xC0}) // SOF0, baseline
	if i < 0 {
		t.Fatal("photo.jpg has no SOF0 marker")
	}
	arith := bytes.Clone(data)
	arith[i+1] = 0xC9 // SOF9: arithmetic coding
	_, err := v.Check(bytes.NewReader(arith), int64(len(arith)), "jpg", "a.jpg")
	wantReason(t, err, ReasonUnsupportedType)
	if !strings.Contains(err.Error(), "baseline or progressive") {
		t.Errorf("message: %v", err)
	}
	twelve := bytes.Clone(data)
	twelve[i+4] = 12 // sample precision
	_, err = v.Check(bytes.NewReader(twelve), int64(len(twelve)), "jpg", "a.jpg")
	wantReason(t, err, ReasonUnsupportedType)
}

// Data after the end marker does not matter: zeros (padding), a video
// (a motion photo), text. The file is judged by its image.
func TestDataAfterTheEndMarker(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	video := readSample(t, "clip.mp4")
	for _, file := range []string{"photo.jpg", "photo.png", "anim.gif"} {
		data := readSample(t, file)
		want, err := v.Check(bytes.NewReader(data), int64(len(data)), "", file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for name, tail := range map[string][]byte{"zeros": make([]byte, 4096), "a video": video, "text": []byte("edited with some tool")} {
			all := cat(data, tail)
			info, err := v.Check(bytes.NewReader(all), int64(len(all)), "", file)
			want.Size = int64(len(all))
			if err != nil || info != want {
				t.Errorf("%s followed by %s: %+v, %v; want %+v", file, name, info, err, want)
			}
		}
	}
}

// Check reads what the structure needs and leaves the rest unread: what
// follows a JPEG's end marker, a BMP's pixels. A PNG is read whole: every
// chunk's CRC is checked, so damage inside a large chunk shows.
func TestReadsOnlyWhatItNeeds(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	check := func(data []byte) (Info, error, int64) {
		cr := &countingReader{r: bytes.NewReader(data)}
		info, err := v.Check(cr, int64(len(data)), "", "f")
		return info, err, cr.n
	}

	padded := cat(readSample(t, "photo.jpg"), make([]byte, 4<<20))
	if _, err, n := check(padded); err != nil || n > 64<<10 {
		t.Errorf("JPEG padded to %d bytes: %v, read %d bytes", len(padded), err, n)
	}
	if _, err, n := check(readSample(t, "photo.bmp")); err != nil || n > HeadSize {
		t.Errorf("BMP: %v, read %d bytes", err, n)
	}

	src := readSample(t, "photo.png")
	iend := len(src) - 12
	body := bytes.Repeat([]byte("private data "), 4<<20/13)
	big := cat(src[:iend], pngChunk("zzZz", body), src[iend:]) // ancillary, private
	info, err, n := check(big)
	if err != nil || info.Width != 64 || info.Height != 48 || n != int64(len(big)) {
		t.Errorf("PNG with a %d-byte chunk: %+v, %v, read %d of %d bytes", len(body), info, err, n, len(big))
	}
	big[iend+8+len(body)/2] ^= 1
	_, err, _ = check(big)
	wantReason(t, err, ReasonCorrupt)
	if !strings.Contains(err.Error(), `chunk "zzZz" at byte 542 has CRC`) {
		t.Errorf("message: %v", err)
	}
}

// offsetRecorder records the offset of every read through it.
type offsetRecorder struct {
	r    io.ReaderAt
	offs []int64
}

func (o *offsetRecorder) ReadAt(p []byte, off int64) (int, error) {
	o.offs = append(o.offs, off)
	return o.r.ReadAt(p, off)
}

// The image decoders start from the head already read for sniffing: the
// start of the file is read once.
func TestHeadReadOnce(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	for _, file := range []string{"photo.jpg", "photo.png", "anim.gif"} {
		data := readSample(t, file)
		r := &offsetRecorder{r: bytes.NewReader(data)}
		if _, err := v.Check(r, int64(len(data)), "", file); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for i, off := range r.offs[1:] {
			if off < HeadSize {
				t.Errorf("%s: read %d is at offset %d, inside the head already read (offsets %v)", file, i+1, off, r.offs)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	v := newValidator(t, Config{})
	files := []string{"photo.jpg", "photo.png", "anim.gif", "photo.bmp", "clip.mp4", "bad/quicktime.mov", "bad/truncated.png"}
	datas := make([][]byte, len(files))
	for i, f := range files {
		datas[i] = readSample(t, f)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(files))
	for range 8 {
		for i := range files {
			wg.Go(func() {
				_, err := v.Check(bytes.NewReader(datas[i]), int64(len(datas[i])), "", files[i])
				bad := strings.HasPrefix(files[i], "bad/")
				if (err != nil) != bad {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%v", err)
	}
}

// TestCheckNameRefusesSharedBadNames: the names every entry point refuses
// (internal/badnames) are refused by the rule itself, with bad_name.
func TestCheckNameRefusesSharedBadNames(t *testing.T) {
	t.Parallel()
	for _, c := range badnames.Cases {
		wantReason(t, CheckName(c.Name), ReasonBadName)
	}
	// Marks and joiners between visible characters are fine.
	for _, ok := range []string{"a\u200Db.jpg", "\u05e9\u05dc\u05d5\u05dd.jpg", "\u200Fx", "caf\u00e9.jpg", "👩\u200D💻.png"} {
		wantReason(t, CheckName(ok), "")
	}
}

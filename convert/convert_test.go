package convert_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storemedia/alipay-media-worker/convert"
)

// media is the shared sample media directory.
var media = filepath.Join("..", "testdata", "media")

func newTestConverter(t *testing.T, cfg convert.Config) *convert.Converter {
	t.Helper()
	cfg.ScratchDir = t.TempDir()
	c, err := convert.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func convertFile(t *testing.T, c *convert.Converter, path string) error {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Convert(context.Background(), f, fi.Size())
	if res != nil {
		t.Errorf("%s: a result with error %v; want none", path, err)
		_ = res.Remove()
	}
	return err
}

func TestAcceptableFilesAreLeftAlone(t *testing.T) {
	t.Parallel()
	c := newTestConverter(t, convert.Config{})
	for _, name := range []string{"photo.jpg", "photo.jpeg", "photo.png", "anim.gif", "photo.bmp", "clip.mp4"} {
		path := filepath.Join(media, name)
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := convertFile(t, c, path); !errors.Is(err, convert.ErrNotNeeded) {
			t.Errorf("%s: %v; want ErrNotNeeded", name, err)
		}
		if after, _ := os.ReadFile(path); sha256.Sum256(after) != sha256.Sum256(before) {
			t.Errorf("%s changed", name)
		}
	}
}

func TestOversizedPNGGIFBMPAndMP4AreNeverConverted(t *testing.T) {
	t.Parallel()
	// A 100-byte limit makes every sample over it.
	c := newTestConverter(t, convert.Config{MaxBytes: 100})
	for name, says := range map[string]string{
		"photo.png": "transparency", "anim.gif": "animation", "photo.bmp": "BMP", "clip.mp4": "never re-encoded",
	} {
		err := convertFile(t, c, filepath.Join(media, name))
		var e *convert.Error
		if !errors.As(err, &e) || e.Reason != convert.ReasonNotConvertible || !errors.Is(err, convert.ErrNotConvertible) {
			t.Errorf("%s: %v; want a not_convertible refusal", name, err)
			continue
		}
		if !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), "over the limit of 100 bytes") {
			t.Errorf("%s: message %q should say %q and name the limit", name, err, says)
		}
	}
}

func TestUnknownContentIsNotConvertible(t *testing.T) {
	t.Parallel()
	c := newTestConverter(t, convert.Config{})
	for name, data := range map[string][]byte{
		"text":      []byte("<html>not found</html>"),
		"empty":     nil,
		"quicktime": append([]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "), make([]byte, 64)...),
	} {
		_, err := c.Convert(context.Background(), bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, convert.ErrNotConvertible) {
			t.Errorf("%s: %v; want ErrNotConvertible", name, err)
		}
	}
}

// untouchable fails the test if read.
type untouchable struct{ t *testing.T }

func (u untouchable) ReadAt([]byte, int64) (int, error) {
	u.t.Error("the file was read")
	return 0, io.EOF
}

func TestInputOverMaxInputBytesIsRefusedUnread(t *testing.T) {
	t.Parallel()
	c := newTestConverter(t, convert.Config{MaxInputBytes: 1000})
	_, err := c.Convert(context.Background(), untouchable{t}, 1001)
	var e *convert.Error
	if !errors.As(err, &e) || e.Reason != convert.ReasonInputTooLarge || !errors.Is(err, convert.ErrInputTooLarge) {
		t.Errorf("%v; want an input_too_large refusal", err)
	}
}

func TestShortReadIsAnErrorNotARefusal(t *testing.T) {
	t.Parallel()
	c := newTestConverter(t, convert.Config{})
	_, err := c.Convert(context.Background(), bytes.NewReader([]byte("\xff\xd8\xff")), 1000)
	var e *convert.Error
	if err == nil || errors.As(err, &e) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v; want a plain error wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]convert.Config{
		"negative MaxBytes":        {MaxBytes: -1},
		"negative MaxPixels":       {MaxPixels: -1},
		"negative Concurrency":     {Concurrency: -1},
		"negative MaxMemory":       {MaxMemory: -1},
		"quality over 100":         {MaxQuality: 101},
		"floor over ceiling":       {MinQuality: 90, MaxQuality: 85},
		"budget under one file":    {MaxBytes: 1000, ScratchBytes: 999},
		"EXIF name with a space":   {KeepEXIF: []string{"Date Time"}},
		"EXIF field name, not tag": {KeepEXIF: []string{"exif-ifd0-Make"}},
		"missing scratch parent":   {ScratchDir: filepath.Join(t.TempDir(), "missing")},
	} {
		if c, err := convert.New(cfg); err == nil {
			c.Close()
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestNewDefaultsAMinQualityAboveTheDefaultCeiling(t *testing.T) {
	t.Parallel()
	// MinQuality 97 alone raises the default ceiling with it.
	c, err := convert.New(convert.Config{MinQuality: 97, ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

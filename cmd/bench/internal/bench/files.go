package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/storemedia/alipay-media-worker/internal/mediagen"
)

// minJPEG is the smallest size [MakeJPEG] can produce.
const minJPEG = 2048

// MakeJPEG returns a valid JPEG of exactly size bytes, unique for seed: a
// small noise image whose header is followed, just before the scan, by
// comment (COM) segments of random bytes. Decoders skip comments, and
// image.DecodeConfig stops at the frame header, so a validator reads only
// the first few hundred bytes, as with a real camera JPEG; the upload still
// carries, hashes and stores every byte.
func MakeJPEG(size int64, seed uint64) ([]byte, error) {
	if size < minJPEG {
		return nil, fmt.Errorf("bench: a JPEG of %d bytes is below the %d-byte minimum", size, minJPEG)
	}
	img := mediagen.Noise(16, 16, seed)
	img.Set(0, 0, color.RGBA{uint8(seed), uint8(seed >> 8), uint8(seed >> 16), 255})
	var base bytes.Buffer
	if err := jpeg.Encode(&base, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	sos, err := scanStart(base.Bytes())
	if err != nil {
		return nil, err
	}
	pad := size - int64(base.Len())
	if pad < 4 {
		return nil, fmt.Errorf("bench: a JPEG of %d bytes is too small for the %d-byte base image", size, base.Len())
	}
	out := make([]byte, 0, size)
	out = append(out, base.Bytes()[:sos]...)
	chacha := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), byte(seed >> 32), 'b', 'e', 'n', 'c', 'h'})
	for pad > 0 {
		seg := min(pad, 65537) // marker (2) + length field (2) + at most 65533 bytes
		if rest := pad - seg; rest > 0 && rest < 4 {
			seg -= 4 // leave room for one more whole segment
		}
		out = append(out, 0xFF, 0xFE)
		out = binary.BigEndian.AppendUint16(out, uint16(seg-2))
		body := make([]byte, seg-4)
		_, _ = chacha.Read(body)
		out = append(out, body...)
		pad -= seg
	}
	out = append(out, base.Bytes()[sos:]...)
	return out, nil
}

// scanStart returns the offset of the start-of-scan marker of a baseline
// JPEG by walking its header segments.
func scanStart(b []byte) (int, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, errors.New("bench: not a JPEG")
	}
	off := 2
	for off+4 <= len(b) {
		if b[off] != 0xFF {
			return 0, fmt.Errorf("bench: no marker at offset %d", off)
		}
		if b[off+1] == 0xDA {
			return off, nil
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off+2:]))
	}
	return 0, errors.New("bench: no start of scan")
}

// writeFiles writes n unique JPEGs of size bytes into dir and returns their
// paths.
func writeFiles(dir string, size int64, n int, seed uint64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	paths := make([]string, n)
	for i := range n {
		data, err := MakeJPEG(size, seed<<20|uint64(i))
		if err != nil {
			return nil, err
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("f%05d.jpg", i))
		if err := os.WriteFile(paths[i], data, 0o644); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	return paths, nil
}

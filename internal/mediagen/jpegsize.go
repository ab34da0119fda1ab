package mediagen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
)

// MinJPEGSize is the smallest size [JPEGOfSize] can produce.
const MinJPEGSize = 2048

// JPEGOfSize returns a valid JPEG of exactly size bytes, unique for seed:
// a 16×16 noise image whose header is followed, just before the scan, by
// comment (COM) segments of random bytes. Decoders skip comments, and
// image.DecodeConfig stops at the frame header, so a validator reads only
// the first few hundred bytes, as with a real camera JPEG; an upload still
// carries, hashes and stores every byte.
func JPEGOfSize(size int64, seed uint64) ([]byte, error) {
	if size < MinJPEGSize {
		return nil, fmt.Errorf("mediagen: a JPEG of %d bytes is below the %d-byte minimum", size, MinJPEGSize)
	}
	img := Noise(16, 16, seed)
	img.Set(0, 0, color.RGBA{uint8(seed), uint8(seed >> 8), uint8(seed >> 16), 255})
	var base bytes.Buffer
	if err := jpeg.Encode(&base, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("mediagen: %w", err)
	}
	sos, err := scanStart(base.Bytes())
	if err != nil {
		return nil, err
	}
	pad := size - int64(base.Len())
	if pad < 4 {
		return nil, fmt.Errorf("mediagen: a JPEG of %d bytes is too small for the %d-byte base image", size, base.Len())
	}
	out := make([]byte, 0, size)
	out = append(out, base.Bytes()[:sos]...)
	chacha := rand.NewChaCha8(seedKey(seed, "comments"))
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
		return 0, errors.New("mediagen: not a JPEG")
	}
	off := 2
	for off+4 <= len(b) {
		if b[off] != 0xFF {
			return 0, fmt.Errorf("mediagen: no marker at offset %d", off)
		}
		if b[off+1] == 0xDA {
			return off, nil
		}
		off += 2 + int(binary.BigEndian.Uint16(b[off+2:]))
	}
	return 0, errors.New("mediagen: no start of scan")
}

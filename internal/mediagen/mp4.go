package mediagen

import "encoding/binary"

// Box returns an ISO base media file format (MP4) box: a 32-bit big-endian
// size that counts the 8-byte header, the 4-character type, then body.
// Players skip a "free" box, so appending one to a valid MP4 keeps it
// valid and changes its content.
func Box(typ string, body []byte) []byte {
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(b, uint32(8+len(body)))
	copy(b[4:], typ)
	return append(b, body...)
}

// MP4 returns the smallest MP4 structure a structural check accepts: an
// ftyp box (major brand isom, compatible isom, iso2, avc1, mp41), a moov
// box holding a zeroed mvhd, and an mdat box holding mdat. It has no
// playable track: it is a video to type sniffing and validation only.
func MP4(mdat []byte) []byte {
	ftyp := Box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
	moov := Box("moov", Box("mvhd", make([]byte, 100)))
	out := append(ftyp, moov...)
	return append(out, Box("mdat", mdat)...)
}

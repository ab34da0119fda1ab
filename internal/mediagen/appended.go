package mediagen

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Files with data after the image's end, as phones, cameras and editors
// write them. Viewers show the image and ignore what follows its end
// marker, and so must a validator.

// motionPhotoXMP is the XMP packet of a motion photo (Google's "MicroVideo"
// layout, which Samsung's resembles): the video is the last %d bytes of the
// file.
const motionPhotoXMP = "http://ns.adobe.com/xap/1.0/\x00" +
	`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
	`<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" ` +
	`GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="%d" ` +
	`GCamera:MicroVideoPresentationTimestampUs="0"/></rdf:RDF></x:xmpmeta>`

// MotionPhoto returns a motion photo as phones write it: the JPEG photo,
// with an XMP packet in an APP1 segment right after its start marker that
// announces the video and its length, then the MP4 video appended after
// the photo's end-of-image marker. photo must be a JPEG (starting FF D8,
// ending FF D9) and video an MP4 (an ftyp box first).
func MotionPhoto(photo, video []byte) ([]byte, error) {
	if len(photo) < 4 || !bytes.HasPrefix(photo, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(photo, []byte{0xFF, 0xD9}) {
		return nil, fmt.Errorf("mediagen: motion photo: the photo is not a JPEG from start to end marker")
	}
	if len(video) < 8 || string(video[4:8]) != "ftyp" {
		return nil, fmt.Errorf("mediagen: motion photo: the video does not start with an ftyp box")
	}
	xmp := fmt.Sprintf(motionPhotoXMP, len(video))
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(2+len(xmp)))
	out := make([]byte, 0, len(photo)+len(app1)+len(xmp)+len(video))
	out = append(out, photo[:2]...)
	out = append(out, app1...)
	out = append(out, xmp...)
	out = append(out, photo[2:]...)
	return append(out, video...), nil
}

// PadTo returns data followed by zero bytes up to exactly size bytes, as
// cameras and editors pad files to a block or a fixed size. size must not
// be smaller than data.
func PadTo(data []byte, size int64) ([]byte, error) {
	if size < int64(len(data)) {
		return nil, fmt.Errorf("mediagen: cannot pad %d bytes to %d", len(data), size)
	}
	out := make([]byte, size)
	copy(out, data)
	return out, nil
}

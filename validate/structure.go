package validate

import (
	"fmt"
)

// Structural checks. Each format has a walker: a state machine that follows
// the format's structure over the content as it arrives, in order and in
// pieces of any size, with a fixed amount of memory. A walker decides from
// the structure up to the format's end marker (JPEG EOI, PNG IEND, GIF
// trailer) and ignores whatever follows it, so a motion photo (a JPEG with a
// video appended) or a file padded with zeros is judged by its image alone.
// A file that ends before its end marker is cut short.
//
// Walkers check structure, not pixels: they never inflate PNG data, decode
// Huffman codes or LZW. A file whose structure is complete but whose
// compressed data is damaged passes here; viewers then show what they can.

// walker follows one format's structure.
type walker interface {
	// write takes the next bytes of the content (never none) and returns a
	// rejection as soon as the structure is known to be broken.
	write(p []byte) error
	// plan says what the walker needs next: the next skip bytes are of no
	// use to it (sample data, pixels, what follows the end marker), and of
	// the bytes after those it wants to see see before it may skip again
	// (0: no bound). [Validator.Check] uses it to leave bytes unread; a
	// stream passes every byte through write anyway.
	plan() (skip int64, see int)
	// skip passes over n bytes unseen, n at most plan's skip, and returns
	// the rejection write would have returned for them.
	skip(n int64) error
	// end is told that the content is complete. It returns the image's
	// dimensions (0 for a video), or the rejection.
	end() (w, h int, err error)
}

// piece collects a fixed-size part of the structure (a header, a length, a
// table's head) that may arrive split across writes.
type piece struct {
	buf  [32]byte
	have int
	want int
	// pos is the walker's offset in the content, of the next byte it
	// sees: fill counts the bytes it takes, the walker those it passes.
	pos int64
}

// expect starts collecting n bytes (at most len(buf)).
func (c *piece) expect(n int) { c.have, c.want = 0, n }

// fill moves bytes from the front of *p into c, counting them in pos, and
// reports whether c holds all it expects.
func (c *piece) fill(p *[]byte) bool {
	k := copy(c.buf[c.have:c.want], *p)
	c.have += k
	c.pos += int64(k)
	*p = (*p)[k:]
	return c.have == c.want
}

// collect fills c from the front of *p and, once c holds all it expects,
// calls complete, the walker's step for the piece, returning its error.
// If c still waits for bytes, *p is left empty.
func (c *piece) collect(p *[]byte, complete func() error) error {
	if !c.fill(p) {
		return nil
	}
	return complete()
}

// got returns the collected bytes.
func (c *piece) got() []byte { return c.buf[:c.want] }

// remaining returns how many bytes c still waits for.
func (c *piece) remaining() int { return c.want - c.have }

// dims checks an image's dimensions from its header.
func dims(format string, w, h int) error {
	if w <= 0 || h <= 0 {
		return corrupt(fmt.Sprintf("the %s header gives a size of %dx%d pixels", format, w, h), nil)
	}
	return nil
}

// cutShort is the rejection of content that ends before its structure
// does.
func cutShort(found string) *Error {
	return corrupt("the file is cut short: "+found, nil)
}

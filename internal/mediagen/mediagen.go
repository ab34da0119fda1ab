package mediagen

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
)

// Noise returns a w×h opaque image of random pixels drawn from seed: the
// same seed always gives the same pixels.
func Noise(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365)) // "noise"
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		v := rng.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v), uint8(v>>8), uint8(v>>16), 255
	}
	return img
}

// Scene draws a w×h picture of a shop front: sky, a wall, a striped
// awning, a door and two windows, the wall's colour drawn from seed. It
// looks like a photo subject and compresses like one.
func Scene(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 42))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(rect image.Rectangle, c color.Color) {
		draw.Draw(img, rect, image.NewUniform(c), image.Point{}, draw.Src)
	}
	for y := range h {
		fill(image.Rect(0, y, w, y+1), color.RGBA{R: uint8(120 + 100*y/h), G: uint8(170 + 60*y/h), B: 235, A: 255})
	}
	fill(image.Rect(w/10, h/3, w-w/10, h), color.RGBA{R: uint8(150 + r.IntN(80)), G: uint8(110 + r.IntN(60)), B: uint8(80 + r.IntN(60)), A: 255})
	stripe := []color.RGBA{{200, 40, 40, 255}, {245, 245, 245, 255}}
	for i, x := 0, w/10; x < w-w/10; i, x = i+1, x+w/20 {
		fill(image.Rect(x, h/3-h/12, min(x+w/20, w-w/10), h/3+h/24), stripe[i%2])
	}
	fill(image.Rect(w/2-w/12, h/2, w/2+w/12, h), color.RGBA{70, 45, 30, 255})
	for _, x := range []int{w / 6, w - w/6 - w/6} {
		fill(image.Rect(x, h/2, x+w/6, h/2+h/5), color.RGBA{180, 215, 240, 255})
	}
	return img
}

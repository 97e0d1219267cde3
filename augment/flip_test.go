package augment_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

// crop is one datatest.PadCrop a warped image equals.
type crop struct {
	top, left        int
	mirrorX, mirrorY bool
}

// findCrop is the crop that out (a warp's values, whole 255ths) is of
// img, or false where it is none.
func findCrop(img []byte, out []float32, g augment.Geometry, p int) (crop, bool) {
	got := make([]byte, len(out))
	for i, v := range out {
		got[i] = byte(v*255 + 0.5)
	}
	var found []crop
	for top := range 2*p + 1 {
		for left := range 2*p + 1 {
			for _, mx := range []bool{false, true} {
				for _, my := range []bool{false, true} {
					if bytes.Equal(got, datatest.PadCrop(img, g, p, top, left, mx, my)) {
						found = append(found, crop{top, left, mx, my})
					}
				}
			}
		}
	}
	if len(found) != 1 {
		return crop{}, false
	}
	return found[0], true
}

// TestFlipAndCropAsTorchvision draws --crop-pad 2 (--shift-px 2, zero
// fill) with each --flip and warps noise images by them: every output
// is the padded image cropped at an offset in [0, 4]^2, mirrored or not,
// and over 6,000 draws each offset comes a 25th of the time and each
// mirror half of the time, within five standard deviations.
func TestFlipAndCropAsTorchvision(t *testing.T) {
	const p, draws = 2, 6000
	g := augment.Geometry{Width: 7, Height: 5, Channels: 2}
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]byte, g.Values())
	for i := range img {
		img[i] = byte(1 + rng.IntN(255)) // no zero: the padding shows
	}
	for _, flip := range []augment.Flip{augment.NoFlip, augment.Horizontal, augment.Vertical, augment.BothFlips} {
		cfg := augment.Config{ShiftPx: p, Flip: flip}
		gen, err := augment.NewGenerator(cfg, g, 7)
		if err != nil {
			t.Fatal(err)
		}
		offsets := map[[2]int]int{}
		var mirrorX, mirrorY int
		for i := range draws {
			a := gen.Next()
			c, ok := findCrop(img, augment.Warp(img, g, a, cfg.Sampling()), g, p)
			if !ok {
				t.Fatalf("--flip %v, draw %d (affine %v): not one padded crop of the image", flip, i, a)
			}
			offsets[[2]int{c.top, c.left}]++
			if c.mirrorX {
				mirrorX++
			}
			if c.mirrorY {
				mirrorY++
			}
		}
		within := func(what string, n int, rate float64) {
			mean, sd := draws*rate, math.Sqrt(draws*rate*(1-rate))
			if float64(n) < mean-5*sd || float64(n) > mean+5*sd {
				t.Errorf("--flip %v: %s %d times in %d, want %.0f ± %.0f", flip, what, n, draws, mean, 5*sd)
			}
		}
		for top := range 2*p + 1 {
			for left := range 2*p + 1 {
				within("offset", offsets[[2]int{top, left}], 1.0/25)
			}
		}
		rateX, rateY := 0.0, 0.0
		if flip&augment.Horizontal != 0 {
			rateX = 0.5
		}
		if flip&augment.Vertical != 0 {
			rateY = 0.5
		}
		within("mirrored left-right", mirrorX, rateX)
		within("mirrored top-bottom", mirrorY, rateY)
	}
}

// TestNoFlipDrawsAsBefore: a generator without --flip draws, bit for
// bit, what the generator drew before flips existed (the first three
// transforms of seed 3, printed by the code of then), so existing runs
// and their resumes stay bit-identical; with --flip the draws differ.
func TestNoFlipDrawsAsBefore(t *testing.T) {
	g := augment.Geometry{Width: 9, Height: 9, Channels: 1}
	for _, c := range []struct {
		cfg  augment.Config
		bits []uint32
	}{
		{augment.Config{ShiftFrac: 0.2, RotateDeg: 10, Zoom: 0.1}, []uint32{0x3f666f04, 0x3e139a34, 0xbf2d0636, 0xbe139a34, 0x3f666f04, 0x3fc3709e,
			0x3f6a93e9, 0x3deb68ca, 0x3f07856f, 0xbdeb68ca, 0x3f6a93e9, 0xbe039bc2, 0x3f8b4b33, 0x3dfe12b9, 0x3f47fcff, 0xbdfe12b9, 0x3f8b4b33, 0xbfa507a7}},
		{augment.Config{ShiftPx: 2}, []uint32{0x3f800000, 0, 0, 0, 0x3f800000, 0xbf800000, 0x3f800000, 0, 0, 0, 0x3f800000, 0xbf800000,
			0x3f800000, 0x80000000, 0x40000000, 0, 0x3f800000, 0xbf800000}},
	} {
		draw := func(cfg augment.Config) []uint32 {
			gen, err := augment.NewGenerator(cfg, g, 3)
			if err != nil {
				t.Fatal(err)
			}
			var out []uint32
			for _, v := range gen.Batch(3) {
				out = append(out, math.Float32bits(v))
			}
			return out
		}
		if got := draw(c.cfg); !slices.Equal(got, c.bits) {
			t.Errorf("%+v draws %#x, before flips %#x", c.cfg, got, c.bits)
		}
		flipped := c.cfg
		flipped.Flip = augment.BothFlips
		if slices.Equal(draw(flipped), c.bits) {
			t.Errorf("%+v with --flip both draws as without", c.cfg)
		}
	}
	if (augment.Config{Flip: augment.Vertical}).Identity() {
		t.Error("Identity ignores the flip")
	}
}

package augment

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// digits is MNIST's geometry, the size these tests draw their images at.
const side = 28

var digits = Geometry{Width: side, Height: side, Channels: 1}

// ramp is an image whose pixel (x, y) is 3x + 5y + 2 (at most 2+81+135 = 218).
func ramp() []byte {
	img := make([]byte, side*side)
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			img[y*side+x] = byte(3*x + 5*y + 2)
		}
	}
	return img
}

func at(img []float32, x, y int) float32 { return img[y*side+x] }

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }

func TestIdentityKeepsEveryPixel(t *testing.T) {
	src := ramp()
	for _, interp := range []Interp{NearestNeighbour, Bilinear} {
		out := Warp(src, digits, IdentityAffine, Sampling{Interp: interp, Fill: Constant})
		for i, v := range src {
			if !near(out[i], float32(v)/255) {
				t.Fatalf("%v: pixel %d: %g, want %g", interp, i, out[i], float32(v)/255)
			}
		}
	}
}

// sciPyOrder0 is what scipy.ndimage.affine_transform(img, eye(2),
// offset=[0, offset], order=0, mode=...) reads at output columns 0, 1, 13,
// 26 and 27 of a row: a source column, or -1 for cval. Printed by SciPy
// 1.10.1 for these float32 offsets: halves round up, and float32 neighbours
// of a half fall on either side of it (which float32 arithmetic, rounding
// 26 + 0.49999997 to 26.5, would get wrong).
var sciPyOrder0 = []struct {
	offset            float32
	nearest, constant [5]int
}{
	{0, [5]int{0, 1, 13, 26, 27}, [5]int{0, 1, 13, 26, 27}},
	{float32(math.Copysign(0, -1)), [5]int{0, 1, 13, 26, 27}, [5]int{0, 1, 13, 26, 27}},
	{0.4, [5]int{0, 1, 13, 26, 27}, [5]int{0, 1, 13, 26, -1}},
	{-0.4, [5]int{0, 1, 13, 26, 27}, [5]int{-1, 1, 13, 26, 27}},
	{0.5, [5]int{1, 2, 14, 27, 27}, [5]int{1, 2, 14, 27, -1}},
	{-0.5, [5]int{0, 1, 13, 26, 27}, [5]int{-1, 1, 13, 26, 27}},
	{0.6, [5]int{1, 2, 14, 27, 27}, [5]int{1, 2, 14, 27, -1}},
	{-0.6, [5]int{0, 0, 12, 25, 26}, [5]int{-1, 0, 12, 25, 26}},
	{1.5, [5]int{2, 3, 15, 27, 27}, [5]int{2, 3, 15, -1, -1}},
	{-1.5, [5]int{0, 0, 12, 25, 26}, [5]int{-1, -1, 12, 25, 26}},
	{2.5, [5]int{3, 4, 16, 27, 27}, [5]int{3, 4, 16, -1, -1}},
	{-2.5, [5]int{0, 0, 11, 24, 25}, [5]int{-1, -1, 11, 24, 25}},
	{2.8, [5]int{3, 4, 16, 27, 27}, [5]int{3, 4, 16, -1, -1}},
	{-2.8, [5]int{0, 0, 10, 23, 24}, [5]int{-1, -1, 10, 23, 24}},
	{26.5, [5]int{27, 27, 27, 27, 27}, [5]int{27, -1, -1, -1, -1}},
	{27.5, [5]int{27, 27, 27, 27, 27}, [5]int{-1, -1, -1, -1, -1}},
	{-27.5, [5]int{0, 0, 0, 0, 0}, [5]int{-1, -1, -1, -1, -1}},
	{1000, [5]int{27, 27, 27, 27, 27}, [5]int{-1, -1, -1, -1, -1}},
	{0.49999997, [5]int{0, 1, 13, 26, 27}, [5]int{0, 1, 13, 26, -1}},
	{0.50000006, [5]int{1, 2, 14, 27, 27}, [5]int{1, 2, 14, 27, -1}},
	{-0.50000006, [5]int{0, 0, 12, 25, 26}, [5]int{-1, 0, 12, 25, 26}},
	{-0.49999997, [5]int{0, 1, 13, 26, 27}, [5]int{-1, 1, 13, 26, 27}},
	{1.4999999, [5]int{1, 2, 14, 27, 27}, [5]int{1, 2, 14, -1, -1}},
	{1.5000001, [5]int{2, 3, 15, 27, 27}, [5]int{2, 3, 15, -1, -1}},
	{-1.5000001, [5]int{0, 0, 11, 24, 25}, [5]int{-1, -1, 11, 24, 25}},
	{-1.4999999, [5]int{0, 0, 12, 25, 26}, [5]int{-1, -1, 12, 25, 26}},
	{2.4999998, [5]int{2, 3, 15, 27, 27}, [5]int{2, 3, 15, -1, -1}},
	{2.5000002, [5]int{3, 4, 16, 27, 27}, [5]int{3, 4, 16, -1, -1}},
}

// TestNearestIsSciPyOrder0 checks the reference against SciPy's own
// answers, along columns and, transposed, along rows.
func TestNearestIsSciPyOrder0(t *testing.T) {
	// Pixel value 9k+1 at column (or row) k: which source pixel a sample
	// came from shows in its value.
	cols, rows := make([]byte, side*side), make([]byte, side*side)
	for y := range side {
		for x := range side {
			cols[y*side+x], rows[y*side+x] = byte(9*x+1), byte(9*y+1)
		}
	}
	want := func(k int) float32 {
		if k < 0 {
			return 0
		}
		return float32(9*k+1) / 255
	}
	xs := [5]int{0, 1, 13, 26, 27}
	for _, c := range sciPyOrder0 {
		for _, fill := range []Fill{Nearest, Constant} {
			expect := c.nearest
			if fill == Constant {
				expect = c.constant
			}
			s := Sampling{Interp: NearestNeighbour, Fill: fill}
			along := Warp(cols, digits, Affine{1, 0, c.offset, 0, 1, 0}, s)
			across := Warp(rows, digits, Affine{1, 0, 0, 0, 1, c.offset}, s)
			for i, x := range xs {
				for _, y := range []int{0, 9, 27} {
					if got := at(along, x, y); got != want(expect[i]) {
						t.Errorf("fill %v, column offset %v: (%d,%d) = %g, want source column %d", fill, c.offset, x, y, got*255, expect[i])
					}
					if got := at(across, y, x); got != want(expect[i]) {
						t.Errorf("fill %v, row offset %v: (%d,%d) = %g, want source row %d", fill, c.offset, y, x, got*255, expect[i])
					}
				}
			}
		}
	}
}

func TestOnePixelShift(t *testing.T) {
	src := ramp()
	// Moving the image right by one: output (x, y) shows input (x-1, y).
	out := Warp(src, digits, Shift(1, 0), Sampling{Interp: Bilinear, Fill: Constant})
	if !near(at(out, 5, 7), float32(3*4+5*7+2)/255) {
		t.Fatalf("(5,7) = %g", at(out, 5, 7)*255)
	}
	if at(out, 0, 7) != 0 {
		t.Fatalf("constant fill: column 0 = %g, want 0", at(out, 0, 7)*255)
	}
	// Nearest fill repeats the old left column.
	out = Warp(src, digits, Shift(1, 0), Sampling{Interp: Bilinear, Fill: Nearest})
	if !near(at(out, 0, 7), float32(5*7+2)/255) {
		t.Fatalf("nearest fill: column 0 = %g, want %d", at(out, 0, 7)*255, 5*7+2)
	}
	// Down by one: output (x, y) shows input (x, y-1).
	out = Warp(src, digits, Shift(0, 1), Sampling{Interp: Bilinear, Fill: Constant})
	if !near(at(out, 4, 9), float32(3*4+5*8+2)/255) || at(out, 4, 0) != 0 {
		t.Fatalf("down shift: (4,9) = %g, (4,0) = %g", at(out, 4, 9)*255, at(out, 4, 0)*255)
	}
}

func TestHalfPixelShiftInterpolates(t *testing.T) {
	src := ramp()
	out := Warp(src, digits, Shift(0.5, 0), Sampling{Interp: Bilinear, Fill: Nearest})
	// Halfway between input columns 9 and 10 on row 3.
	want := (float32(3*9+5*3+2) + float32(3*10+5*3+2)) / 2 / 255
	if !near(at(out, 10, 3), want) {
		t.Fatalf("(10,3) = %g, want %g", at(out, 10, 3)*255, want*255)
	}
	// At the border, nearest fill blends column 0 with itself.
	if !near(at(out, 0, 3), float32(5*3+2)/255) {
		t.Fatalf("(0,3) nearest = %g", at(out, 0, 3)*255)
	}
	// Constant fill blends column 0 with black.
	out = Warp(src, digits, Shift(0.5, 0), Sampling{Interp: Bilinear, Fill: Constant})
	if !near(at(out, 0, 3), float32(5*3+2)/2/255) {
		t.Fatalf("(0,3) constant = %g", at(out, 0, 3)*255)
	}
}

func TestOutOfRangeShift(t *testing.T) {
	src := ramp()
	out := Warp(src, digits, Shift(1000, -1000), Sampling{Interp: Bilinear, Fill: Constant})
	for i, v := range out {
		if v != 0 {
			t.Fatalf("constant fill, shifted away: pixel %d = %g", i, v)
		}
	}
	// Shifted far right and up, every output pixel samples the input's
	// bottom-left corner.
	out = Warp(src, digits, Shift(1000, -1000), Sampling{Interp: Bilinear, Fill: Nearest})
	corner := float32(3*0+5*27+2) / 255
	for i, v := range out {
		if !near(v, corner) {
			t.Fatalf("nearest fill, shifted away: pixel %d = %g, want %g", i, v*255, corner*255)
		}
	}
}

func TestSameSeedSameBatch(t *testing.T) {
	cfg := Config{ShiftFrac: 0.1, RotateDeg: 10, Zoom: 0.1}
	g1, err := NewGenerator(cfg, digits, 7)
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := NewGenerator(cfg, digits, 7)
	g3, _ := NewGenerator(cfg, digits, 8)
	b1, b2, b3 := g1.Batch(50), g2.Batch(50), g3.Batch(50)
	if !slices.Equal(b1, b2) {
		t.Fatal("one seed gave two batches")
	}
	if slices.Equal(b1, b3) {
		t.Fatal("two seeds gave one batch")
	}
	// Saving and restoring the state continues the same sequence.
	state, err := g1.State()
	if err != nil {
		t.Fatal(err)
	}
	next := g1.Batch(3)
	if err := g2.SetState(state); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(next, g2.Batch(3)) {
		t.Fatal("restored generator diverged")
	}
}

func TestShiftRanges(t *testing.T) {
	frac, _ := NewGenerator(Config{ShiftFrac: 0.1}, digits, 1)
	px, _ := NewGenerator(Config{ShiftPx: 2}, digits, 1)
	seenPx := map[float32]bool{}
	for range 2000 {
		a := frac.Next()
		// Pure shift: the inverse is a translation by the negated shift.
		if a[0] != 1 || a[1] != 0 || a[3] != 0 || a[4] != 1 || math.Abs(float64(a[2])) > 2.8+1e-5 || math.Abs(float64(a[5])) > 2.8+1e-5 {
			t.Fatalf("--shift 0.1 gave %v", a)
		}
		b := px.Next()
		if b[2] != float32(math.Round(float64(b[2]))) || math.Abs(float64(b[2])) > 2 {
			t.Fatalf("--shift-px 2 gave %v", b)
		}
		seenPx[b[2]] = true
	}
	if len(seenPx) != 5 {
		t.Fatalf("--shift-px 2 drew %d distinct x shifts, want 5", len(seenPx))
	}
	if (Config{ShiftPx: 2}).FillMode() != Constant || (Config{ShiftFrac: 0.1}).FillMode() != Nearest {
		t.Fatal("default fills")
	}
	if (Config{ShiftPx: 2, Fill: Nearest, FillSet: true}).FillMode() != Nearest {
		t.Fatal("fill override")
	}
}

func TestConfigCheck(t *testing.T) {
	bad := []Config{{ShiftFrac: 0.1, ShiftPx: 1}, {ShiftFrac: -0.1}, {ShiftFrac: 1}, {ShiftPx: -1}, {ShiftFrac: math.NaN()}, {Zoom: 1}, {RotateDeg: 181}}
	for _, c := range bad {
		if c.Check() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := ParseFill("reflect"); err == nil {
		t.Error("fill reflect accepted")
	}
}

// TestShiftPxMustFitTheImage checks that a whole-pixel shift is checked
// against the images' shorter side.
func TestShiftPxMustFitTheImage(t *testing.T) {
	wide := Geometry{Width: 12, Height: 5, Channels: 3}
	if _, err := NewGenerator(Config{ShiftPx: 5}, wide, 1); err == nil || !strings.Contains(err.Error(), "side of 5") {
		t.Errorf("--shift-px 5 on %v: %v", wide, err)
	}
	if _, err := NewGenerator(Config{ShiftPx: 4}, wide, 1); err != nil {
		t.Errorf("--shift-px 4 on %v: %v", wide, err)
	}
}

// TestWarpTakesEachChannelAlike warps a 3-channel image of 7x5 pixels and
// checks each channel against the warp of that channel alone, and a
// rotation about the centre of the non-square image.
func TestWarpTakesEachChannelAlike(t *testing.T) {
	g := Geometry{Width: 7, Height: 5, Channels: 3}
	one := Geometry{Width: 7, Height: 5, Channels: 1}
	src := make([]byte, g.Values())
	for i := range src {
		src[i] = byte(37*i + 11)
	}
	gen, err := NewGenerator(Config{ShiftFrac: 0.2, RotateDeg: 30}, g, 5)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		a := gen.Next()
		for _, s := range []Sampling{{Interp: NearestNeighbour, Fill: Constant}, {Interp: Bilinear, Fill: Nearest}} {
			got := Warp(src, g, a, s)
			for ch := range 3 {
				plane := make([]byte, one.Values())
				for i := range plane {
					plane[i] = src[3*i+ch]
				}
				for i, v := range Warp(plane, one, a, s) {
					if got[3*i+ch] != v {
						t.Fatalf("%v, %+v: channel %d, pixel %d: %g, alone %g", a, s, ch, i, got[3*i+ch], v)
					}
				}
			}
		}
	}
	// A rotation turns about the centre of the non-square image, (3, 2).
	turn, _ := NewGenerator(Config{RotateDeg: 180}, g, 1)
	for range 20 {
		a := turn.Next()
		if x, y := a[0]*3+a[1]*2+a[2], a[3]*3+a[4]*2+a[5]; math.Abs(float64(x)-3) > 1e-5 || math.Abs(float64(y)-2) > 1e-5 {
			t.Fatalf("%v moves the centre (3, 2) to (%g, %g)", a, x, y)
		}
	}
}

package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// digits is MNIST's geometry, 28x28x1.
var digits = augment.Geometry{Width: 28, Height: 28, Channels: 1}

const augmentPixels = 28 * 28

// augmentSet is a random data set of images of geometry g on the device,
// and its bytes.
func augmentSet(t *testing.T, ctx *vk.Context, rng *rand.Rand, images int, g augment.Geometry) (*vk.Buffer, []byte) {
	t.Helper()
	set := make([]byte, images*g.Values())
	for i := range set {
		set[i] = byte(rng.IntN(256))
	}
	buf, err := ctx.NewBuffer(int64(len(set)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(buf.Close)
	if err := buf.Write(0, set); err != nil {
		t.Fatal(err)
	}
	return buf, set
}

// warpOnDevice runs the augment kernel on images order[first:] of set (n
// images of geometry g) through affines and returns the warped batch.
func warpOnDevice(t *testing.T, ctx *vk.Context, set *vk.Buffer, n int, g augment.Geometry, order []uint32, first int, affines []augment.Affine, s augment.Sampling) []float32 {
	t.Helper()
	return normalizeOnDevice(t, ctx, set, n, g, order, first, affines, s, nil)
}

// normalizeOnDevice is warpOnDevice with a normalization (nil: none).
func normalizeOnDevice(t *testing.T, ctx *vk.Context, set *vk.Buffer, n int, g augment.Geometry, order []uint32, first int, affines []augment.Affine, s augment.Sampling, norm *augment.Normalization) []float32 {
	t.Helper()
	orderBuf := uploadWords(t, ctx, order)
	var flat []float32
	for _, a := range affines {
		flat = append(flat, a[:]...)
	}
	affineBuf := upload(t, ctx, flat)
	batch := len(affines)
	out := upload(t, ctx, make([]float32, batch*g.Values()))
	run(t, ctx, func(rec *vk.Recording) error {
		return Augment(ctx, rec, AugmentArgs{Images: vk.Whole(set), N: n, Geometry: g, Order: vk.Whole(orderBuf), First: first,
			Affines: vk.Whole(affineBuf), Out: vk.Whole(out), Batch: batch, Sampling: s, Norm: norm})
	})
	return download(t, out, batch*g.Values())
}

var samplings = []augment.Sampling{
	{Interp: augment.NearestNeighbour, Fill: augment.Nearest}, {Interp: augment.NearestNeighbour, Fill: augment.Constant},
	{Interp: augment.Bilinear, Fill: augment.Nearest}, {Interp: augment.Bilinear, Fill: augment.Constant},
}

// TestAugmentMatchesReference warps a batch on the device and on the CPU:
// identity, whole- and half-pixel shifts, a shift off the image, and
// random shift/rotate/zoom transforms, under both interpolations and
// fills, of digits and of non-square 3-channel images, these also with
// the data set in four pieces and the batch in slices of two within a
// lowered storage-buffer range. Nearest neighbour must agree exactly.
func TestAugmentMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const images = 37
	t.Cleanup(func() { maxRangeOverride = 0 })
	colour := augment.Geometry{Width: 12, Height: 20, Channels: 3}
	for _, tc := range []struct {
		g     augment.Geometry
		limit int64
	}{{digits, 0}, {colour, 0}, {colour, 8000}} {
		maxRangeOverride = tc.limit
		g := tc.g
		if per, err := perPiece(ctx.Info, images, g); tc.limit > 0 && (err != nil || per != 11) {
			t.Fatalf("%v within %d bytes: %d images a piece (%v), want 11", g, tc.limit, per, err)
		}
		setBuf, set := augmentSet(t, ctx, rng, images, g)
		gen, err := augment.NewGenerator(augment.Config{ShiftFrac: 0.3, RotateDeg: 20, Zoom: 0.2}, g, 3)
		if err != nil {
			t.Fatal(err)
		}
		affines := []augment.Affine{augment.IdentityAffine, augment.Shift(1, 0), augment.Shift(0, -1), augment.Shift(0.5, 0.5), augment.Shift(-3.25, 40)}
		for range 20 {
			affines = append(affines, gen.Next())
		}
		order := make([]uint32, 3+len(affines)) // the batch starts at order[3]
		for i := range order {
			order[i] = uint32(rng.IntN(images))
		}
		values := g.Values()
		for _, s := range samplings {
			got := warpOnDevice(t, ctx, setBuf, images, g, order, 3, affines, s)
			tolerance := 1e-5
			if s.Interp == augment.NearestNeighbour {
				tolerance = 0
			}
			for i, a := range affines {
				img := int(order[3+i])
				want := augment.Warp(set[img*values:(img+1)*values], g, a, s)
				if d, at := maxAbsDiff(got[i*values:(i+1)*values], want); d > tolerance {
					t.Fatalf("%v within %d bytes, %+v, sample %d (affine %v): value %d = %g, want %g", g, tc.limit, s, i, a, at, got[i*values+at], want[at])
				}
			}
		}
	}
}

// TestAugmentNormalizes normalizes warped batches of one and three
// channels on the device as augment.Normalization.Apply does on the
// reference warp: exactly under nearest neighbour, whose values the
// reference gives exactly, and a subtraction and a multiplication, which
// Vulkan rounds correctly.
func TestAugmentNormalizes(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(11, 12))
	const images = 9
	for _, tc := range []struct {
		g    augment.Geometry
		norm augment.Normalization
	}{
		{digits, augment.Normalization{Mean: []float32{0.1307}, Std: []float32{0.3081}}},
		{augment.Geometry{Width: 12, Height: 20, Channels: 3}, augment.Normalization{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}},
	} {
		g := tc.g
		setBuf, set := augmentSet(t, ctx, rng, images, g)
		affines := []augment.Affine{augment.IdentityAffine, augment.Shift(1, -2), augment.Shift(0.5, 0.25)}
		order := []uint32{4, 0, 8}
		for _, s := range samplings {
			got := normalizeOnDevice(t, ctx, setBuf, images, g, order, 0, affines, s, &tc.norm)
			tolerance := 1e-5
			if s.Interp == augment.NearestNeighbour {
				tolerance = 0
			}
			for i, a := range affines {
				img := int(order[i])
				want := augment.Warp(set[img*g.Values():(img+1)*g.Values()], g, a, s)
				tc.norm.Apply(want, g.Channels)
				if d, at := maxAbsDiff(got[i*g.Values():(i+1)*g.Values()], want); d > tolerance {
					t.Fatalf("%v, %+v, sample %d: value %d = %g, want %g", g, s, i, at, got[i*g.Values()+at], want[at])
				}
			}
		}
	}
}

// TestAugmentRefusesADataSetPastFourPieces checks the error where the
// data set needs more bindings of the device's range than the shader has.
func TestAugmentRefusesADataSetPastFourPieces(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 8000
	t.Cleanup(func() { maxRangeOverride = 0 })
	err := CheckDataSet(ctx.Info, 45, augment.Geometry{Width: 12, Height: 20, Channels: 3})
	if err == nil || !strings.Contains(err.Error(), "45 20x12x3 images") || !strings.Contains(err.Error(), "more than 4 bindings") {
		t.Errorf("45 images in pieces of 11: %v", err)
	}
}

// sciPyNearest is scipy.ndimage.affine_transform(img, matrix, offset,
// order=0, mode=fill) written out as SciPy computes it, in float64 and
// rows first, independently of augment.Warp: the input coordinate of each
// axis is the matrix row times the output coordinates plus the offset;
// mode nearest moves a coordinate outside [0, 27] to the border, mode
// constant gives 0 there; the pixel read is floor(coordinate + 0.5).
func sciPyNearest(img []byte, a augment.Affine, fill augment.Fill) []float32 {
	matrix := [2][2]float64{{float64(a[4]), float64(a[3])}, {float64(a[1]), float64(a[0])}}
	offset := [2]float64{float64(a[5]), float64(a[2])}
	out := make([]float32, augmentPixels)
	for r := range 28 {
		for c := range 28 {
			var at [2]int
			outside := false
			for axis := range 2 {
				cc := matrix[axis][0]*float64(r) + matrix[axis][1]*float64(c) + offset[axis]
				if cc < 0 || cc > 27 {
					outside = true
					cc = math.Max(0, math.Min(cc, 27))
				}
				at[axis] = int(math.Floor(cc + 0.5))
			}
			if !(outside && fill == augment.Constant) {
				out[r*28+c] = float32(img[at[0]*28+at[1]]) / 255
			}
		}
	}
	return out
}

// TestNearestWarpIsSciPy holds the device's nearest-neighbour warp against
// sciPyNearest pixel for pixel on the transforms where float32 can be
// exact: Keras-style random shifts of up to 2.8 pixels, shifts at and one
// float32 step either side of every half pixel within reach, whole shifts,
// mirror images and shifts off the image.
func TestNearestWarpIsSciPy(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(21, 22))
	const images = 11
	setBuf, set := augmentSet(t, ctx, rng, images, digits)
	var offsets []float32
	for k := -3; k <= 3; k++ {
		half := float32(k) + 0.5
		offsets = append(offsets, half, math.Nextafter32(half, -100), math.Nextafter32(half, 100), float32(k))
	}
	offsets = append(offsets, 26.5, math.Nextafter32(26.5, 0), -26.5, math.Nextafter32(-26.5, 0), 27.5, -40, 1e30)
	var affines []augment.Affine
	for _, dx := range offsets {
		affines = append(affines, augment.Affine{1, 0, dx, 0, 1, offsets[rng.IntN(len(offsets))]})
	}
	for range 200 {
		keras := func() float32 { return float32((2*rng.Float64() - 1) * 0.1 * 28) }
		affines = append(affines, augment.Affine{1, 0, keras(), 0, 1, keras()})
	}
	for _, dy := range offsets[:8] {
		affines = append(affines, augment.Affine{-1, 0, 27 + dy, 0, 1, dy}, augment.Affine{1, 0, dy, 0, -1, 27 - dy})
	}
	order := make([]uint32, len(affines))
	for i := range order {
		order[i] = uint32(rng.IntN(images))
	}
	for _, fill := range []augment.Fill{augment.Nearest, augment.Constant} {
		got := warpOnDevice(t, ctx, setBuf, images, digits, order, 0, affines, augment.Sampling{Interp: augment.NearestNeighbour, Fill: fill})
		for i, a := range affines {
			img := set[order[i]*augmentPixels : (order[i]+1)*augmentPixels]
			want := sciPyNearest(img, a, fill)
			for p := range want {
				if g := got[i*augmentPixels+p]; g != want[p] {
					t.Fatalf("fill %v, affine %v: pixel (x %d, y %d) = %v (%g/255), SciPy's order 0 gives %v (%g/255)",
						fill, a, p%28, p/28, g, g*255, want[p], want[p]*255)
				}
			}
		}
	}
}

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"vkcnn/augment"
	"vkcnn/vk"
	"vkcnn/vk/vktest"
)

const augmentPixels = 28 * 28

// augmentSet is a random training set of images digits on the device, and
// its bytes.
func augmentSet(t *testing.T, ctx *vk.Context, rng *rand.Rand, images int) (*vk.Buffer, []byte) {
	t.Helper()
	set := make([]byte, images*augmentPixels)
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

// warpOnDevice runs the augment kernel on images order[first:] of set
// through affines and returns the warped batch.
func warpOnDevice(t *testing.T, ctx *vk.Context, set *vk.Buffer, order []uint32, first int, affines []augment.Affine, s augment.Sampling) []float32 {
	t.Helper()
	orderBuf := uploadWords(t, ctx, order)
	var flat []float32
	for _, a := range affines {
		flat = append(flat, a[:]...)
	}
	affineBuf := upload(t, ctx, flat)
	batch := len(affines)
	out := upload(t, ctx, make([]float32, batch*augmentPixels))
	run(t, ctx, func(rec *vk.Recording) error {
		return Augment(ctx, rec, vk.Whole(set), vk.Whole(orderBuf), first, vk.Whole(affineBuf), vk.Whole(out), batch, s)
	})
	return download(t, out, batch*augmentPixels)
}

var samplings = []augment.Sampling{
	{Interp: augment.NearestNeighbour, Fill: augment.Nearest}, {Interp: augment.NearestNeighbour, Fill: augment.Constant},
	{Interp: augment.Bilinear, Fill: augment.Nearest}, {Interp: augment.Bilinear, Fill: augment.Constant},
}

// TestAugmentMatchesReference warps a batch on the device and on the CPU:
// identity, whole- and half-pixel shifts, a shift off the image, and
// random shift/rotate/zoom transforms, under both interpolations and
// fills. Nearest neighbour must agree exactly.
func TestAugmentMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const images = 37
	setBuf, set := augmentSet(t, ctx, rng, images)
	gen, err := augment.NewGenerator(augment.Config{ShiftFrac: 0.3, RotateDeg: 20, Zoom: 0.2}, 3)
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
	for _, s := range samplings {
		got := warpOnDevice(t, ctx, setBuf, order, 3, affines, s)
		tolerance := 1e-5
		if s.Interp == augment.NearestNeighbour {
			tolerance = 0
		}
		for i, a := range affines {
			img := order[3+i]
			want := augment.Warp(set[img*augmentPixels:(img+1)*augmentPixels], a, s)
			if d, at := maxAbsDiff(got[i*augmentPixels:(i+1)*augmentPixels], want); d > tolerance {
				t.Fatalf("%+v, sample %d (affine %v): pixel (%d,%d) = %g, want %g", s, i, a, at%28, at/28, got[i*augmentPixels+at], want[at])
			}
		}
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
	setBuf, set := augmentSet(t, ctx, rng, images)
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
		got := warpOnDevice(t, ctx, setBuf, order, 0, affines, augment.Sampling{Interp: augment.NearestNeighbour, Fill: fill})
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

package kernels

import (
	"math/rand/v2"
	"testing"

	"vkcnn/augment"
	"vkcnn/vk"
	"vkcnn/vk/vktest"
)

// TestAugmentMatchesReference warps a batch on the device and on the CPU:
// identity, whole- and half-pixel shifts, a shift off the image, and
// random shift/rotate/zoom transforms, under both fills.
func TestAugmentMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const images, pixels = 37, 28 * 28
	set := make([]byte, images*pixels)
	for i := range set {
		set[i] = byte(rng.IntN(256))
	}
	gen, err := augment.NewGenerator(augment.Config{ShiftFrac: 0.3, RotateDeg: 20, Zoom: 0.2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	affines := []augment.Affine{augment.IdentityAffine, augment.Shift(1, 0), augment.Shift(0, -1), augment.Shift(0.5, 0.5), augment.Shift(-3.25, 40)}
	for range 20 {
		affines = append(affines, gen.Next())
	}
	batch := len(affines)
	order := make([]uint32, 3+batch) // the batch starts at order[3]
	for i := range order {
		order[i] = uint32(rng.IntN(images))
	}
	var flat []float32
	for _, a := range affines {
		flat = append(flat, a[:]...)
	}

	setBuf, err := ctx.NewBuffer(int64(len(set)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(setBuf.Close)
	if err := setBuf.Write(0, set); err != nil {
		t.Fatal(err)
	}
	orderBuf, err := ctx.NewBuffer(int64(4 * len(order)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(orderBuf.Close)
	if err := orderBuf.WriteUint32(0, order); err != nil {
		t.Fatal(err)
	}
	affineBuf := upload(t, ctx, flat)
	out := upload(t, ctx, make([]float32, batch*pixels))

	for _, fill := range []augment.Fill{augment.Nearest, augment.Constant} {
		run(t, ctx, func(rec *vk.Recording) error {
			return Augment(ctx, rec, vk.Whole(setBuf), vk.Whole(orderBuf), 3, vk.Whole(affineBuf), vk.Whole(out), batch, fill == augment.Constant)
		})
		got := download(t, out, batch*pixels)
		for s, a := range affines {
			img := order[3+s]
			want := augment.Warp(set[img*pixels:(img+1)*pixels], a, fill)
			if d, at := maxAbsDiff(got[s*pixels:(s+1)*pixels], want); d > 1e-5 {
				t.Fatalf("fill %v, sample %d (affine %v): pixel (%d,%d) = %g, want %g", fill, s, a, at%28, at/28, got[s*pixels+at], want[at])
			}
		}
	}
}

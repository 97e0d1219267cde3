package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// poolWindowShapes are pool.comp's pooling workbench, which drives
// TestPoolWindowsMatchReference and BenchmarkPoolWindows (each shape at a
// batch of 256): its windows, TensorFlow's "same"
// at stride 2 (the larger padding below and right) and 1, overlapping
// "valid" windows, a 2x3 window at steps of 1 and 2, a global pooling,
// and one sliced by a small storage range.
var poolWindowShapes = []struct {
	g     Window
	limit int64
}{
	{Window{Batch: 2, H: 7, W: 6, C: 3, OH: 4, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, PadTop: 1, PadLeft: 0}, 0},
	{Window{Batch: 1, H: 5, W: 7, C: 2, OH: 5, OW: 7, KH: 3, KW: 3, SH: 1, SW: 1, PadTop: 1, PadLeft: 1}, 0},
	{Window{Batch: 3, H: 6, W: 5, C: 1, OH: 4, OW: 3, KH: 3, KW: 3, SH: 1, SW: 1}, 0},
	{Window{Batch: 2, H: 5, W: 8, C: 3, OH: 4, OW: 3, KH: 2, KW: 3, SH: 1, SW: 2}, 0},
	{Window{Batch: 3, H: 5, W: 3, C: 4, OH: 1, OW: 1, KH: 5, KW: 3, SH: 5, SW: 3}, 0},
	{Window{Batch: 9, H: 6, W: 6, C: 4, OH: 3, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2}, 4096},
}

// padShapes are zero paddings: a 1x1 window at stride 1.
var padShapes = []struct {
	g     Window
	limit int64
}{
	{Window{Batch: 2, H: 3, W: 4, C: 2, OH: 6, OW: 6, KH: 1, KW: 1, SH: 1, SW: 1, PadTop: 1, PadLeft: 2}, 0},
	{Window{Batch: 11, H: 5, W: 5, C: 3, OH: 7, OW: 6, KH: 1, KW: 1, SH: 1, SW: 1, PadTop: 0, PadLeft: 1}, 4096},
}

// TestPoolWindowsMatchReference pools each shape's windows, max and
// average, and their gradients, against the reference: max exactly (ties
// included, the first maximum taking the gradient), average within a
// float32 division's rounding.
func TestPoolWindowsMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(55, 56))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range poolWindowShapes {
		g := s.g
		maxRangeOverride = s.limit
		in, out := g.Batch*g.H*g.W*g.C, g.Batch*g.OH*g.OW*g.C
		x, dy := randomFloats(rng, in), randomFloats(rng, out)
		for i := 0; i+g.C < in; i += 5 {
			x[i+g.C] = x[i]
		}
		xB, dyB := upload(t, ctx, x), upload(t, ctx, dy)
		maxB, avgB := upload(t, ctx, randomFloats(rng, out)), upload(t, ctx, randomFloats(rng, out))
		dMaxB, dAvgB := upload(t, ctx, randomFloats(rng, in)), upload(t, ctx, randomFloats(rng, in))
		run(t, ctx, func(rec *vk.Recording) error {
			for _, err := range []error{g.MaxPool(ctx, rec, vk.Whole(xB), vk.Whole(maxB)), g.MaxPoolBackward(ctx, rec, vk.Whole(xB), vk.Whole(dyB), vk.Whole(dMaxB)),
				g.AvgPool(ctx, rec, vk.Whole(xB), vk.Whole(avgB)), g.AvgPoolBackward(ctx, rec, vk.Whole(dyB), vk.Whole(dAvgB))} {
				if err != nil {
					return err
				}
			}
			if s.limit > 0 && rec.Dispatches() < 8 {
				return fmt.Errorf("%d dispatches within a range of %d bytes", rec.Dispatches(), s.limit)
			}
			return nil
		})
		name := fmt.Sprintf("%+v", g)
		expectExact(t, name+": max", download(t, maxB, out), ref.MaxPoolWindows(g.ref(), x))
		expectExact(t, name+": max backward", download(t, dMaxB, in), ref.MaxPoolWindowsBackward(g.ref(), x, dy))
		expectClose(t, name+": average", download(t, avgB, out), ref.AvgPoolWindows(g.ref(), x), 1e-6)
		expectClose(t, name+": average backward", download(t, dAvgB, in), ref.AvgPoolWindowsBackward(g.ref(), dy), 1e-6)
	}
}

// BenchmarkPoolWindows times max and average pooling, forward and
// backward, in each window of the workbench on 256 images: go test
// ./nn/kernels -run '^$' -bench PoolWindows.
func BenchmarkPoolWindows(b *testing.B) {
	ctx := vktest.Open(b)
	rng := rand.New(rand.NewPCG(59, 60))
	for _, s := range poolWindowShapes {
		g := s.g
		g.Batch = 256
		in, out := g.Batch*g.H*g.W*g.C, g.Batch*g.OH*g.OW*g.C
		bufs := make([]*vk.Buffer, 4)
		for i, n := range []int{in, out, out, in} {
			bufs[i] = upload(b, ctx, randomFloats(rng, n))
		}
		x, y, dy, dx := vk.Whole(bufs[0]), vk.Whole(bufs[1]), vk.Whole(bufs[2]), vk.Whole(bufs[3])
		for _, pass := range []struct {
			name   string
			record func(rec *vk.Recording) error
		}{
			{"max", func(rec *vk.Recording) error { return g.MaxPool(ctx, rec, x, y) }},
			{"max backward", func(rec *vk.Recording) error { return g.MaxPoolBackward(ctx, rec, x, dy, dx) }},
			{"average", func(rec *vk.Recording) error { return g.AvgPool(ctx, rec, x, y) }},
			{"average backward", func(rec *vk.Recording) error { return g.AvgPoolBackward(ctx, rec, dy, dx) }},
		} {
			b.Run(fmt.Sprintf("%dx%dx%d/%dx%d/%dx%d/%s", g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, pass.name), func(b *testing.B) {
				rec, err := ctx.NewRecording()
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Close()
				if err := pass.record(rec); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(4 * int64(in+out))
				b.ResetTimer()
				for range b.N {
					if err := rec.Run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestPadMatchesReference pads and crops each shape, exactly.
func TestPadMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(57, 58))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range padShapes {
		g := s.g
		maxRangeOverride = s.limit
		in, out := g.Batch*g.H*g.W*g.C, g.Batch*g.OH*g.OW*g.C
		x, dy := randomFloats(rng, in), randomFloats(rng, out)
		xB, dyB := upload(t, ctx, x), upload(t, ctx, dy)
		yB, dxB := upload(t, ctx, randomFloats(rng, out)), upload(t, ctx, randomFloats(rng, in))
		run(t, ctx, func(rec *vk.Recording) error {
			if err := g.Pad(ctx, rec, vk.Whole(xB), vk.Whole(yB)); err != nil {
				return err
			}
			if s.limit > 0 && rec.Dispatches() < 2 {
				return fmt.Errorf("%d dispatches within a range of %d bytes", rec.Dispatches(), s.limit)
			}
			return g.Crop(ctx, rec, vk.Whole(dyB), vk.Whole(dxB))
		})
		name := fmt.Sprintf("%+v", g)
		expectExact(t, name+": padded", download(t, yB, out), ref.Pad(g.ref(), x))
		expectExact(t, name+": cropped", download(t, dxB, in), ref.Crop(g.ref(), dy))
	}
}

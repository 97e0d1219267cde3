package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// windowShapes are strided and padded convolutions' windows: TensorFlow's
// "same" at stride 2 (the larger padding below and right), "valid", a 1x1
// kernel at stride 2, a 2x3 kernel at steps of 3 and 1 (windows that
// skip rows), one sliced by a small storage range; dilated ones (a 3x2
// kernel 2 and 3 pixels apart with "same" padding, a 2x2 one "valid"),
// an even 4x4 kernel padded more below and right, and grouped ones (three
// groups of two channels dilated, two groups at stride 2 sliced).
var windowShapes = []struct {
	g     Window
	limit int64
}{
	{Window{Batch: 2, H: 7, W: 6, C: 3, OH: 4, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, PadTop: 1, PadLeft: 0}, 0},
	{Window{Batch: 3, H: 5, W: 6, C: 2, OH: 3, OW: 4, KH: 3, KW: 3, SH: 1, SW: 1}, 0},
	{Window{Batch: 2, H: 9, W: 7, C: 5, OH: 5, OW: 4, KH: 1, KW: 1, SH: 2, SW: 2}, 0},
	{Window{Batch: 1, H: 8, W: 5, C: 1, OH: 3, OW: 5, KH: 2, KW: 3, SH: 3, SW: 1, PadTop: 0, PadLeft: 1}, 0},
	{Window{Batch: 9, H: 6, W: 6, C: 4, OH: 3, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, PadTop: 0, PadLeft: 0}, 4096},
	{Window{Batch: 2, H: 7, W: 6, C: 3, OH: 7, OW: 6, KH: 3, KW: 2, SH: 1, SW: 1, DH: 2, DW: 3, PadTop: 2, PadLeft: 1}, 0},
	{Window{Batch: 2, H: 7, W: 8, C: 2, OH: 4, OW: 5, KH: 2, KW: 2, SH: 1, SW: 1, DH: 4, DW: 4}, 0},
	{Window{Batch: 2, H: 5, W: 6, C: 2, OH: 5, OW: 6, KH: 4, KW: 4, SH: 1, SW: 1, PadTop: 1, PadLeft: 1}, 0},
	{Window{Batch: 2, H: 6, W: 5, C: 6, OH: 6, OW: 5, KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2, PadTop: 2, PadLeft: 2, Groups: 3}, 0},
	{Window{Batch: 9, H: 6, W: 6, C: 4, OH: 3, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, Groups: 2}, 2048},
	// Real sizes, for the benchmark: resnet20's first strided
	// convolution at CIFAR's shape, and a dilated grouped one.
	{Window{Batch: 1, H: 32, W: 32, C: 16, OH: 16, OW: 16, KH: 3, KW: 3, SH: 2, SW: 2}, 0},
	{Window{Batch: 1, H: 28, W: 28, C: 64, OH: 28, OW: 28, KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 2, PadTop: 2, PadLeft: 2, Groups: 4}, 0},
}

func (g Window) ref() ref.ConvGeom {
	return ref.ConvGeom{Batch: g.Batch, H: g.H, W: g.W, Cin: g.C, KH: g.KH, KW: g.KW,
		OH: g.OH, OW: g.OW, SH: g.SH, SW: g.SW, PadTop: g.PadTop, PadLeft: g.PadLeft, DH: g.DH, DW: g.DW, Groups: g.Groups}
}

// TestWindowsMatchReference makes each shape's windows, group by group,
// and sums their gradients back, against the reference: both exact, in
// both of im2col.comp's instances.
func TestWindowsMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(51, 52))
	t.Cleanup(func() { maxRangeOverride, valuesOverride = 0, false })
	for _, values := range []bool{false, true} {
		valuesOverride = values
		for _, s := range windowShapes {
			checkWindows(t, ctx, rng, s.g, s.limit)
		}
	}
}

// checkWindows makes g's windows, group by group, and sums their
// gradients back, within a storage range of limit bytes (0: the device's).
func checkWindows(t *testing.T, ctx *vk.Context, rng *rand.Rand, g Window, limit int64) {
	maxRangeOverride = limit
	x := randomFloats(rng, g.Batch*g.H*g.W*g.C)
	xB, dxB := upload(t, ctx, x), upload(t, ctx, x)
	dx := x
	for group := range g.groups() {
		dCol := randomFloats(rng, g.ColFloats())
		dColB, colB := upload(t, ctx, dCol), upload(t, ctx, randomFloats(rng, g.ColFloats()))
		run(t, ctx, func(rec *vk.Recording) error {
			if err := g.Im2Col(ctx, rec, group, vk.Whole(xB), vk.Whole(colB)); err != nil {
				return err
			}
			if limit > 0 && rec.Dispatches() < 2 {
				return fmt.Errorf("%d dispatches within a range of %d bytes", rec.Dispatches(), limit)
			}
			return g.Col2Im(ctx, rec, group, vk.Whole(dColB), vk.Whole(dxB))
		})
		name := fmt.Sprintf("%+v, group %d, runs %v", g, group, runs(ctx.Info))
		expectExact(t, name+": windows", download(t, colB, g.ColFloats()), ref.Windows(g.ref(), group, x))
		dx = ref.WindowsBackward(g.ref(), group, dCol, dx)
		expectExact(t, name+": their gradients summed", download(t, dxB, len(x)), dx)
	}
}

// BenchmarkWindows times each shape's im2col and col2im at batch 32 (all
// its groups), in both of im2col.comp's instances: runs of channels (a
// CPU's) and single values (a GPU's).
func BenchmarkWindows(b *testing.B) {
	ctx := vktest.Open(b)
	rng := rand.New(rand.NewPCG(55, 56))
	b.Cleanup(func() { valuesOverride = false })
	for _, s := range windowShapes {
		g := s.g
		g.Batch = 32
		x, col := upload(b, ctx, randomFloats(rng, g.Batch*g.H*g.W*g.C)), upload(b, ctx, randomFloats(rng, g.ColFloats()))
		for _, values := range []bool{false, true} {
			for _, back := range []bool{false, true} {
				name := fmt.Sprintf("%dx%dx%d/%dx%d/s%dx%d/d%dx%d/g%d/runs=%v/col2im=%v", g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.Groups, !values, back)
				b.Run(name, func(b *testing.B) {
					valuesOverride = values
					rec, err := ctx.NewRecording()
					if err != nil {
						b.Fatal(err)
					}
					defer rec.Close()
					for group := range g.groups() {
						if back {
							err = g.Col2Im(ctx, rec, group, vk.Whole(col), vk.Whole(x))
						} else {
							err = g.Im2Col(ctx, rec, group, vk.Whole(x), vk.Whole(col))
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.SetBytes(4 * int64(g.Batch*g.H*g.W*g.C+g.groups()*g.ColFloats()))
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
}

// TestGlobalAvgPoolMatchesReference on odd shapes, one sliced.
func TestGlobalAvgPoolMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(53, 54))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range []struct {
		batch, pixels, c int
		limit            int64
	}{{1, 1, 1, 0}, {3, 49, 5, 0}, {7, 9, 6, 1024}} {
		maxRangeOverride = s.limit
		x, dy := randomFloats(rng, s.batch*s.pixels*s.c), randomFloats(rng, s.batch*s.c)
		xB, dyB := upload(t, ctx, x), upload(t, ctx, dy)
		yB, dxB := upload(t, ctx, randomFloats(rng, len(dy))), upload(t, ctx, randomFloats(rng, len(x)))
		run(t, ctx, func(rec *vk.Recording) error {
			if err := GlobalAvgPool(ctx, rec, vk.Whole(xB), vk.Whole(yB), s.batch, s.pixels, s.c); err != nil {
				return err
			}
			return GlobalAvgPoolBackward(ctx, rec, vk.Whole(dyB), vk.Whole(dxB), s.batch, s.pixels, s.c)
		})
		name := fmt.Sprintf("%d images of %d pixels of %d channels", s.batch, s.pixels, s.c)
		expectExact(t, name+": pooled", download(t, yB, len(dy)), ref.GlobalAvgPool(x, s.batch, s.pixels, s.c))
		expectExact(t, name+": gradient", download(t, dxB, len(x)), ref.GlobalAvgPoolBackward(dy, s.batch, s.pixels, s.c))
	}
}

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// depthwiseBench is the depthwise kernels' workbench, which drives
// TestDepthwiseMatchesReference and BenchmarkDepthwise: odd shapes
// (TensorFlow's "same" at stride 2, "valid", a 5x5 kernel, a depth
// multiplier of 3, steps of 3 and 1 over a 1x3 kernel, and one recorded in
// slices of a small storage range, whose kernel gradient adds slice to
// slice; a 3x2 kernel dilated by 2 and 3 with "same" padding, and an even
// 4x2 one dilated "valid"), each with its tolerance against the reference, absolute, on
// values of |x| < 1. FLOPs come from Depthwise.FLOPs.
var depthwiseBench = []struct {
	d     Depthwise
	limit int64
	tol   float64
}{
	{Depthwise{Window: Window{Batch: 2, H: 7, W: 6, C: 3, OH: 4, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, PadTop: 1}, M: 1, Bias: true}, 0, 1e-5},
	{Depthwise{Window: Window{Batch: 3, H: 5, W: 6, C: 2, OH: 3, OW: 4, KH: 3, KW: 3, SH: 1, SW: 1}, M: 2, ReLU: true}, 0, 1e-5},
	{Depthwise{Window: Window{Batch: 2, H: 9, W: 7, C: 5, OH: 9, OW: 7, KH: 5, KW: 5, SH: 1, SW: 1, PadTop: 2, PadLeft: 2}, M: 3, Bias: true, ReLU: true}, 0, 1e-5},
	{Depthwise{Window: Window{Batch: 1, H: 8, W: 5, C: 1, OH: 3, OW: 5, KH: 1, KW: 3, SH: 3, SW: 1, PadLeft: 1}, M: 1}, 0, 1e-5},
	{Depthwise{Window: Window{Batch: 9, H: 6, W: 6, C: 4, OH: 3, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2}, M: 1, Bias: true}, 4096, 1e-5},
	{Depthwise{Window: Window{Batch: 2, H: 7, W: 6, C: 3, OH: 7, OW: 6, KH: 3, KW: 2, SH: 1, SW: 1, DH: 2, DW: 3, PadTop: 2, PadLeft: 1}, M: 2, Bias: true}, 0, 1e-5},
	{Depthwise{Window: Window{Batch: 2, H: 9, W: 5, C: 2, OH: 3, OW: 4, KH: 4, KW: 2, SH: 1, SW: 1, DH: 2, DW: 1}, M: 1, ReLU: true}, 0, 1e-5},
	// A MobileNet layer's size, for the benchmark.
	{Depthwise{Window: Window{Batch: 32, H: 14, W: 14, C: 64, OH: 14, OW: 14, KH: 3, KW: 3, SH: 1, SW: 1, PadTop: 1, PadLeft: 1}, M: 1, Bias: true}, 0, 1e-4},
}

func (d Depthwise) ref() ref.ConvGeom { return d.Window.ref() }

// TestDepthwiseMatchesReference runs each shape's forward pass and both
// gradients against the float64 reference.
func TestDepthwiseMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(61, 62))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range depthwiseBench {
		d := s.d
		maxRangeOverride = s.limit
		ins, outs := d.Batch*d.H*d.W*d.C, d.Batch*d.OH*d.OW*d.Channels()
		x, w, bias, dy := randomFloats(rng, ins), randomFloats(rng, d.kernelFloats()), randomFloats(rng, d.Channels()), randomFloats(rng, outs)
		xB, wB, biasB, dyB := upload(t, ctx, x), upload(t, ctx, w), upload(t, ctx, bias), upload(t, ctx, dy)
		yB, dxB, dwB := upload(t, ctx, randomFloats(rng, outs)), upload(t, ctx, randomFloats(rng, ins)), upload(t, ctx, randomFloats(rng, len(w)))
		run(t, ctx, func(rec *vk.Recording) error {
			if err := d.Forward(ctx, rec, vk.Whole(xB), vk.Whole(wB), vk.Whole(biasB), vk.Whole(yB)); err != nil {
				return err
			}
			if s.limit > 0 && rec.Dispatches() < 2 {
				return fmt.Errorf("%d dispatches within a range of %d bytes", rec.Dispatches(), s.limit)
			}
			if err := d.BackwardData(ctx, rec, vk.Whole(dyB), vk.Whole(wB), vk.Whole(dxB)); err != nil {
				return err
			}
			return d.BackwardFilter(ctx, rec, vk.Whole(xB), vk.Whole(dyB), vk.Whole(dwB))
		})
		if !d.Bias {
			bias = nil
		}
		name := fmt.Sprintf("%+v", d)
		expectClose(t, name+": forward", download(t, yB, outs), ref.DepthwiseForward(d.ref(), d.M, x, w, bias, d.ReLU), s.tol)
		expectClose(t, name+": input gradient", download(t, dxB, ins), ref.DepthwiseBackwardData(d.ref(), d.M, dy, w), s.tol)
		expectClose(t, name+": kernel gradient", download(t, dwB, len(w)), ref.DepthwiseBackwardFilter(d.ref(), d.M, x, dy), s.tol*float64(d.Batch*d.OH*d.OW)/10)
	}
}

// BenchmarkDepthwise times each workbench shape's three passes:
// go test ./nn/kernels -run '^$' -bench Depthwise.
func BenchmarkDepthwise(b *testing.B) {
	ctx := vktest.Open(b)
	rng := rand.New(rand.NewPCG(63, 64))
	for _, s := range depthwiseBench {
		d := s.d
		ins, outs := d.Batch*d.H*d.W*d.C, d.Batch*d.OH*d.OW*d.Channels()
		x, w, y := upload(b, ctx, randomFloats(rng, ins)), upload(b, ctx, randomFloats(rng, d.kernelFloats())), upload(b, ctx, randomFloats(rng, outs))
		bias, dx, dw := upload(b, ctx, randomFloats(rng, d.Channels())), upload(b, ctx, randomFloats(rng, ins)), upload(b, ctx, randomFloats(rng, d.kernelFloats()))
		for _, pass := range []string{"forward", "backward-data", "backward-filter"} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d/k%dx%d/s%d/m%d/%s", d.Batch, d.H, d.W, d.C, d.KH, d.KW, d.SH, d.M, pass), func(b *testing.B) {
				rec, err := ctx.NewRecording()
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Close()
				switch pass {
				case "forward":
					err = d.Forward(ctx, rec, vk.Whole(x), vk.Whole(w), vk.Whole(bias), vk.Whole(y))
				case "backward-data":
					err = d.BackwardData(ctx, rec, vk.Whole(y), vk.Whole(w), vk.Whole(dx))
				default:
					err = d.BackwardFilter(ctx, rec, vk.Whole(x), vk.Whole(y), vk.Whole(dw))
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if err := rec.Run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(d.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestWarpVariantsAtGPUSizes runs every warp variant, and every matrix
// variant at bf16 and bf16x3 where the device has bf16 matrices, at the
// sizes a GPU
// trains at, where tiles, split layers and index paths repeat thousands
// of times: plain GEMMs of hundreds to thousands a side (lengths
// multiples of 4 but not of a tile; transposed; split over k by the
// device's rule and by a fixed 8), the standard model's dense products at
// batch 64, and the three passes of convolutions of its channel counts.
// The products are too large for a whole reference: a sample of entries
// (the corners and 300 at random) is checked against the reference of the
// products the precision sums (ref.Terms).
func TestWarpVariantsAtGPUSizes(t *testing.T) {
	ctx := vktest.Open(t)
	vktest.RequireGPU(t, ctx.Info)
	rng := rand.New(rand.NewPCG(41, 42))
	ran := runsCases{}
	for _, ch := range stagedChoices(t, ctx.Info) {
		v := ch.Variant
		for _, g := range []Gemm{
			{M: 1028, N: 516, K: 772},
			{M: 2048, N: 1024, K: 1500, TransA: true, Bias: true, ReLU: true},
			{M: 500, N: 3000, K: 2052, TransB: true},
			{M: 64, N: 328, K: 100352, Bias: true, ReLU: true}, // dense_1 forward
			{M: 100352, N: 328, K: 64, TransA: true},           // its kernel gradient
			{M: 64, N: 100352, K: 328, TransB: true},           // its input gradient
		} {
			g.Variant, g.Precision = v, ch.Precision
			def, err := For(ctx.Info, g, v, ch.Precision)
			if !ran.add(ch, err) {
				continue
			}
			layers := map[int]bool{}
			for _, split := range []int{def.Split, 8} {
				// A split whose partial products overrun a binding is
				// refused (Fits says so); the device's own rule never
				// splits products that large.
				if g.Split = split; layers[g.layers()] || Fits(ctx.Info, g) != nil {
					continue
				}
				layers[g.layers()] = true
				t.Run(fmt.Sprintf("gemm %s %dx%dx%d tA=%v tB=%v split %d", v.label(ch.Precision), g.M, g.N, g.K, g.TransA, g.TransB, split), func(t *testing.T) {
					checkGemmSample(t, ctx, rng, g)
				})
			}
		}
		for _, g := range []ref.ConvGeom{
			{Batch: 8, H: 28, W: 28, Cin: 256, Cout: 256, KH: 5, KW: 5},  // conv2d_2 at batch 8
			{Batch: 16, H: 28, W: 28, Cin: 256, Cout: 128, KH: 5, KW: 5}, // conv2d_3 at batch 16
			{Batch: 5, H: 30, W: 30, Cin: 132, Cout: 260, KH: 3, KW: 3},
		} {
			c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW, Bias: true, ReLU: true, Variant: v, Precision: ch.Precision}
			if ran.add(ch, Check(ctx.Info, ConvProduct{Conv: c}, ch)) {
				t.Run(fmt.Sprintf("conv %s %+v", v.label(ch.Precision), g), func(t *testing.T) { checkConvSample(t, ctx, rng, c) })
			}
		}
	}
	ran.check(t)
}

// stagedChoices are the warp variants, which a GPU must run, and the
// matrix ones at bf16 and bf16x3 where the device runs those (the real
// cooperative-matrix kernels).
func stagedChoices(t *testing.T, info vk.DeviceInfo) []Choice {
	var out []Choice
	for _, v := range GemmVariants {
		if !v.staged() {
			continue
		}
		for _, prec := range precisionsOf(v) {
			err := v.usable(info, prec, false)
			switch {
			case err == nil:
				out = append(out, Choice{Variant: v, Split: 1, Precision: prec})
			case v.Style == Warp:
				t.Errorf("a GPU cannot run a warp variant: %v", err)
			default:
				t.Logf("skip %v", err)
			}
		}
	}
	return out
}

// sampleEntries lists the corners of a rows x cols matrix and 300
// entries at random, as row-major indices.
func sampleEntries(rng *rand.Rand, rows, cols int) []int {
	out := []int{0, cols - 1, (rows - 1) * cols, rows*cols - 1}
	for range 300 {
		out = append(out, rng.IntN(rows*cols))
	}
	return out
}

// checkSample compares sampled entries of got with want(entry), whose
// sums run over k products of values in [-1, 1].
func checkSample(t *testing.T, what string, got []float32, entries []int, k int, want func(e int) float64) {
	t.Helper()
	tol := 4*float64(k)/(1<<23) + 1e-6
	for _, e := range entries {
		w := want(e)
		if d := math.Abs(float64(got[e]) - w); !(d <= tol) {
			t.Errorf("%s: entry %d is %g, want %g (|error| %.3g, tolerance %.3g)", what, e, got[e], w, d, tol)
			return
		}
	}
}

func checkGemmSample(t *testing.T, ctx *vk.Context, rng *rand.Rand, g Gemm) {
	a, b := randomFloats(rng, g.M*g.K), randomFloats(rng, g.K*g.N)
	var bias []float32
	var biasRange vk.Range
	if g.Bias {
		bias = randomFloats(rng, g.N)
		biasRange = vk.Whole(upload(t, ctx, bias))
	}
	ab, bb := upload(t, ctx, a), upload(t, ctx, b)
	cb := upload(t, ctx, randomFloats(rng, g.M*g.N))
	scratch := upload(t, ctx, make([]float32, max(g.Scratch(ctx.Info), 1)))
	run(t, ctx, func(rec *vk.Recording) error {
		return g.Record(ctx, rec, GemmArgs{A: vk.Whole(ab), B: vk.Whole(bb), C: vk.Whole(cb), Bias: biasRange, Scratch: vk.Whole(scratch)})
	})
	pairs := ref.TermsRounded(a, b, g.Precision.BF16Parts(), roundingOf(ctx.Info, g.Precision))
	checkSample(t, "C", download(t, cb, g.M*g.N), sampleEntries(rng, g.M, g.N), len(pairs)*g.K, func(e int) float64 {
		s := 0.0
		for _, p := range pairs {
			s += ref.GemmEntry(g.M, g.N, g.K, p[0], p[1], g.TransA, g.TransB, e/g.N, e%g.N)
		}
		if g.Bias {
			s += float64(bias[e%g.N])
		}
		if g.ReLU {
			s = max(s, 0)
		}
		return s
	})
}

// checkConvSample runs the three passes of c and checks a sample of each
// against the reference entries.
func checkConvSample(t *testing.T, ctx *vk.Context, rng *rand.Rand, c Conv) {
	r := runConv(t, ctx, rng, c)
	g := r.g
	pixels, taps := g.Batch*g.H*g.W, g.KH*g.KW
	parts, round := c.Precision.BF16Parts(), roundingOf(ctx.Info, c.Precision)
	// sum is an entry's reference summed over the operand pairs the
	// precision multiplies.
	sum := func(pairs [][2][]float32, entry func(a, b []float32) float64) float64 {
		s := 0.0
		for _, p := range pairs {
			s += entry(p[0], p[1])
		}
		return s
	}
	forward, data, filter := ref.TermsRounded(r.in, r.w, parts, round), ref.TermsRounded(r.dOut, r.w, parts, round), ref.TermsRounded(r.in, r.dOut, parts, round)
	checkSample(t, "forward", r.out, sampleEntries(rng, pixels, g.Cout), len(forward)*taps*g.Cin, func(e int) float64 {
		s := sum(forward, func(in, w []float32) float64 { return ref.ConvForwardEntry(g, in, w, e/g.Cout, e%g.Cout) })
		return max(s+float64(r.bias[e%g.Cout]), 0)
	})
	checkSample(t, "backward data", r.dIn, sampleEntries(rng, pixels, g.Cin), len(data)*taps*g.Cout, func(e int) float64 {
		return sum(data, func(dOut, w []float32) float64 { return ref.ConvBackwardDataEntry(g, dOut, w, e/g.Cin, e%g.Cin) })
	})
	// The kernel gradient is laid out HWIO: a row per (tap, input
	// channel).
	checkSample(t, "backward filter", r.dW, sampleEntries(rng, taps*g.Cin, g.Cout), len(filter)*pixels, func(e int) float64 {
		row := e / g.Cout
		return sum(filter, func(in, dOut []float32) float64 {
			return ref.ConvBackwardFilterEntry(g, in, dOut, row/g.Cin/g.KW, row/g.Cin%g.KW, row%g.Cin, e%g.Cout)
		})
	})
}

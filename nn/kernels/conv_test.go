package kernels

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

var convShapes = []ref.ConvGeom{
	{Batch: 1, H: 1, W: 1, Cin: 1, Cout: 1, KH: 1, KW: 1},
	{Batch: 2, H: 5, W: 7, Cin: 1, Cout: 3, KH: 3, KW: 3},
	{Batch: 3, H: 9, W: 6, Cin: 4, Cout: 8, KH: 5, KW: 5},
	{Batch: 2, H: 7, W: 7, Cin: 6, Cout: 5, KH: 3, KW: 5},
	{Batch: 1, H: 4, W: 4, Cin: 8, Cout: 68, KH: 5, KW: 5}, // kernel wider than the image
	{Batch: 2, H: 5, W: 7, Cin: 12, Cout: 4, KH: 3, KW: 3},
}

func TestConvMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(11, 12))
	ran := runsCases{}
	for _, ch := range usableChoices(t, ctx.Info) {
		if ch.Variant.GemmOnly {
			continue
		}
		for _, g := range convShapes {
			c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW}
			if !ran.add(ch, Check(ctx.Info, ConvProduct{Conv: c}, ch)) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%+v", ch, g), func(t *testing.T) {
				checkConv(t, ctx, rng, g, ch)
			})
		}
	}
	ran.check(t)
}

// convRun is a convolution's three passes on random operands: what they
// read and what each wrote.
type convRun struct {
	g                 ref.ConvGeom
	in, w, bias, dOut []float32
	out, dIn, dW      []float32
}

// runConv runs c forward (with bias and ReLU), backward to its input and
// to its kernel, over garbage that each must overwrite.
func runConv(t *testing.T, ctx *vk.Context, rng *rand.Rand, c Conv) convRun {
	t.Helper()
	g := ref.ConvGeom{Batch: c.Batch, H: c.H, W: c.W, Cin: c.Cin, Cout: c.Cout, KH: c.KH, KW: c.KW}
	pixels, taps := g.Batch*g.H*g.W, g.KH*g.KW
	r := convRun{g: g, in: randomFloats(rng, pixels*g.Cin), w: randomFloats(rng, taps*g.Cin*g.Cout),
		bias: randomFloats(rng, g.Cout), dOut: randomFloats(rng, pixels*g.Cout)}
	inB, wB, biasB, dOutB := upload(t, ctx, r.in), upload(t, ctx, r.w), upload(t, ctx, r.bias), upload(t, ctx, r.dOut)
	outB := upload(t, ctx, randomFloats(rng, pixels*g.Cout))
	wTB := upload(t, ctx, make([]float32, len(r.w)))
	dInB := upload(t, ctx, randomFloats(rng, pixels*g.Cin))
	dWB := upload(t, ctx, randomFloats(rng, len(r.w)))
	scratch := upload(t, ctx, make([]float32, max(c.FilterScratch(ctx.Info), 1)))
	run(t, ctx, func(rec *vk.Recording) error {
		return errors.Join(
			c.Forward(ctx, rec, vk.Whole(inB), vk.Whole(wB), vk.Whole(outB), vk.Whole(biasB)),
			TransposeKernel(ctx, rec, vk.Whole(wB), vk.Whole(wTB), taps, g.Cin, g.Cout),
			c.BackwardData(ctx, rec, vk.Whole(dOutB), vk.Whole(wTB), vk.Whole(dInB)),
			c.BackwardFilter(ctx, rec, vk.Whole(inB), vk.Whole(dOutB), vk.Whole(dWB), vk.Whole(scratch)),
		)
	})
	r.out, r.dIn, r.dW = download(t, outB, pixels*g.Cout), download(t, dInB, pixels*g.Cin), download(t, dWB, len(r.w))
	return r
}

// checkConv runs the three passes of a convolution of geometry g as ch
// says and compares them with the float64 references of the products its
// precision sums (ref.Terms), to within float32 summation.
func checkConv(t *testing.T, ctx *vk.Context, rng *rand.Rand, g ref.ConvGeom, ch Choice) {
	c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW, Bias: true, ReLU: true, Variant: ch.Variant, Precision: ch.Precision}
	r := runConv(t, ctx, rng, c)
	pixels, taps := g.Batch*g.H*g.W, g.KH*g.KW
	parts, round := ch.Precision.BF16Parts(), roundingOf(ctx.Info, ch.Precision)
	// The bias is added once, with the first pair's products.
	forward := termsSum(ref.TermsRounded(r.in, r.w, parts, round), func(x, w []float64, first bool) []float64 {
		if !first {
			return ref.ConvForward64(g, x, w, nil, nil)
		}
		return ref.ConvForward64(g, x, w, ref.Float64s(r.bias), nil)
	})
	data := termsSum(ref.TermsRounded(r.dOut, r.w, parts, round), func(d, w []float64, _ bool) []float64 { return ref.ConvBackwardData64(g, d, w, nil) })
	filter := termsSum(ref.TermsRounded(r.in, r.dOut, parts, round), func(x, d []float64, _ bool) []float64 { return ref.ConvBackwardFilter64(g, x, d, nil) })
	terms := len(ref.TermsRounded(nil, nil, parts, round))
	checks := []struct {
		name string
		got  []float32
		want []float64
		k    int
	}{
		{"forward", r.out, ref.ReLU64(forward), taps * g.Cin},
		{"backward data", r.dIn, data, taps * g.Cout},
		{"backward filter", r.dW, filter, pixels},
	}
	for _, ch := range checks {
		want := make([]float32, len(ch.want))
		for i, v := range ch.want {
			want[i] = float32(v)
		}
		if d, at := maxAbsDiff(ch.got, want); d > sumTolerance(terms*ch.k) {
			t.Errorf("%s: max |error| %.3g at %d (got %g, want %g), tolerance %.3g", ch.name, d, at, ch.got[at], want[at], sumTolerance(terms*ch.k))
		}
	}
}

// termsSum is the sum over the pairs of operands of pass's float64
// reference; first says the pair is the first.
func termsSum(terms [][2][]float32, pass func(a, b []float64, first bool) []float64) []float64 {
	var sum []float64
	for i, t := range terms {
		v := pass(ref.Float64s(t[0]), ref.Float64s(t[1]), i == 0)
		if sum == nil {
			sum = v
			continue
		}
		for j := range sum {
			sum[j] += v[j]
		}
	}
	return sum
}

func TestConvRejectsEvenKernels(t *testing.T) {
	ctx := vktest.Open(t)
	buf := upload(t, ctx, make([]float32, 64))
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	c := Conv{Batch: 1, H: 2, W: 2, Cin: 1, Cout: 1, KH: 2, KW: 3}
	c.Variant = Default(ctx.Info, ConvProduct{Conv: c}, FP32).Variant
	if err := c.Forward(ctx, rec, vk.Whole(buf), vk.Whole(buf), vk.Whole(buf), vk.Range{}); err == nil {
		t.Fatal("a 2x3 kernel was accepted")
	}
}

// TestConvSlicesPastStorageRange runs every pass of convolutions whose
// activations pass a (lowered) storage-buffer range, in batch slices:
// forward and backward-data slice by slice, the kernel gradient summing
// each slice's partial gradients onto those before, with one layer a
// slice and with several.
func TestConvSlicesPastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(13, 14))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, tc := range []struct {
		g     ref.ConvGeom
		limit int64
	}{
		{ref.ConvGeom{Batch: 12, H: 8, W: 8, Cin: 4, Cout: 8, KH: 3, KW: 3}, 5000},
		{ref.ConvGeom{Batch: 5, H: 16, W: 16, Cin: 4, Cout: 4, KH: 5, KW: 3}, 9000},
	} {
		maxRangeOverride = tc.limit
		g := tc.g
		for _, ch := range usableChoices(t, ctx.Info) {
			c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW, Variant: ch.Variant}
			if Check(ctx.Info, ConvProduct{Conv: c}, ch) != nil {
				continue
			}
			if per, err := c.images(ctx.Info); err != nil || per != 2 {
				t.Fatalf("%+v: %d images a slice (%v), want 2", g, per, err)
			}
			t.Run(fmt.Sprintf("%s/%+v", ch, g), func(t *testing.T) {
				checkConv(t, ctx, rng, g, ch)
			})
		}
	}
}

// TestConvRefusesAnImagePastStorageRange checks the error where not even
// one image's values fit a binding.
func TestConvRefusesAnImagePastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 1500 // past the kernel's 1152 bytes, short of an image's 2048
	t.Cleanup(func() { maxRangeOverride = 0 })
	c := Conv{Batch: 2, H: 8, W: 8, Cin: 4, Cout: 8, KH: 3, KW: 3}
	var re *RangeError
	if _, err := c.images(ctx.Info); !errors.As(err, &re) || re.Bytes != 8*8*8*4 || !strings.Contains(err.Error(), "one 8x8x4 image") {
		t.Errorf("got %v, want a RangeError of one 8x8x8 output image", err)
	}
}

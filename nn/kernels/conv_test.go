package kernels

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"vkcnn/nn/ref"
	"vkcnn/vk"
	"vkcnn/vk/vktest"
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
	for _, v := range GemmVariants {
		if v.usable(ctx.Info) != nil || v.GemmOnly {
			continue
		}
		for _, g := range convShapes {
			c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW}
			if !ran.add(v, Check(ctx.Info, ConvProduct{Conv: c}, Choice{Variant: v, Split: 1})) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%+v", v.Name, g), func(t *testing.T) {
				checkConv(t, ctx, rng, g, v)
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

func checkConv(t *testing.T, ctx *vk.Context, rng *rand.Rand, g ref.ConvGeom, v GemmVariant) {
	c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW, Bias: true, ReLU: true, Variant: v}
	r := runConv(t, ctx, rng, c)
	pixels, taps := g.Batch*g.H*g.W, g.KH*g.KW
	checks := []struct {
		name string
		got  []float32
		want []float32
		k    int
	}{
		{"forward", r.out, ref.ConvForward(g, r.in, r.w, r.bias, true), taps * g.Cin},
		{"backward data", r.dIn, ref.ConvBackwardData(g, r.dOut, r.w), taps * g.Cout},
		{"backward filter", r.dW, ref.ConvBackwardFilter(g, r.in, r.dOut), pixels},
	}
	for _, ch := range checks {
		tol := 4*float64(ch.k)/(1<<23) + 1e-6
		if d, at := maxAbsDiff(ch.got, ch.want); d > tol {
			t.Errorf("%s: max |error| %.3g at %d (got %g, want %g), tolerance %.3g", ch.name, d, at, ch.got[at], ch.want[at], tol)
		}
	}
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
	c.Variant = Default(ctx.Info, ConvProduct{Conv: c}).Variant
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
		for _, v := range GemmVariants {
			c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW, Variant: v}
			if Check(ctx.Info, ConvProduct{Conv: c}, Choice{Variant: v, Split: 1}) != nil {
				continue
			}
			if per, err := c.images(ctx.Info); err != nil || per != 2 {
				t.Fatalf("%+v: %d images a slice (%v), want 2", g, per, err)
			}
			t.Run(fmt.Sprintf("%s/%+v", v.Name, g), func(t *testing.T) {
				checkConv(t, ctx, rng, g, v)
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

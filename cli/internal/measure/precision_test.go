package measure

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestPrecisionBounds measures every precision on a small convolution of
// uniform [-1, 1] values (odd image sides, k = 800) and holds each to its
// worst-case bound relative to the entry's terms: fp32 to its summation's,
// (k+1) units of 2^-24; bf16 to its inputs' rounding, 2^-8 + 2^-18 a term,
// and the sum's; bf16x3 to its dropped and rounded parts, 3 * 2^-18, and
// its 3k terms' sum; the host's TF32 to 2^-10 + 2^-22. And bf16x3 must lie
// closer to float64 than TF32, fp32 too, bf16 farther.
func TestPrecisionBounds(t *testing.T) {
	ctx := vktest.Open(t)
	c := kernels.Conv{Batch: 2, H: 9, W: 7, Cin: 32, Cout: 36, KH: 5, KW: 5}
	rng := rand.New(rand.NewPCG(3, 4))
	uniform := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 2*rng.Float32() - 1
		}
		return v
	}
	x, w := uniform(c.Batch*c.H*c.W*c.Cin), uniform(c.KH*c.KW*c.Cin*c.Cout)
	res, err := ConvPrecision(ctx, c, x, w, kernels.Precisions, 2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	k := float64(c.KH * c.KW * c.Cin)
	bounds := map[string]float64{
		"fp32":   (k + 1) * 0x1p-24,
		"bf16":   0x1p-8 + 0x1p-18 + 1.01*k*0x1p-24,
		"bf16x3": 3*0x1p-18 + 3*k*0x1p-24,
		TF32:     0x1p-10 + 0x1p-22,
	}
	byName := map[string]PrecisionError{}
	for _, e := range res {
		byName[e.Precision] = e
		t.Logf("%-12s %-20s max %.3g, RMS %.3g", e.Precision, e.Variant, e.Max, e.RMS)
		if bound, ok := bounds[e.Precision]; !ok || !(e.Max <= bound) || e.RMS > e.Max {
			t.Errorf("%s: max %.3g, RMS %.3g; the bound is %.3g", e.Precision, e.Max, e.RMS, bound)
		}
	}
	if len(byName) != len(bounds) {
		t.Fatalf("measured %v, want %d precisions", res, len(bounds))
	}
	tf32 := byName[TF32].Max
	if !(byName["bf16x3"].Max < tf32 && byName["fp32"].Max < tf32 && byName["bf16"].Max > tf32) || math.IsInf(tf32, 0) {
		t.Errorf("max errors fp32 %.3g, bf16x3 %.3g, bf16 %.3g against TF32's %.3g: want fp32 and bf16x3 below it, bf16 above",
			byName["fp32"].Max, byName["bf16x3"].Max, byName["bf16"].Max, tf32)
	}
}

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestKernelsAtModelShapes runs the convolutions and the dense layers'
// products at the small preset's real shapes (batch 2), where every
// incremental index path wraps many times.
func TestKernelsAtModelShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("model-sized references take a few seconds")
	}
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(23, 24))
	// Both convolutions split the kernel gradient's sum (7 and 2 layers).
	for _, g := range []ref.ConvGeom{
		{Batch: 2, H: 28, W: 28, Cin: 1, Cout: 32, KH: 5, KW: 5},
		{Batch: 2, H: 14, W: 14, Cin: 32, Cout: 64, KH: 5, KW: 5},
	} {
		for _, ch := range usableChoices(t, ctx.Info) {
			c := Conv{Batch: g.Batch, H: g.H, W: g.W, Cin: g.Cin, Cout: g.Cout, KH: g.KH, KW: g.KW}
			if Check(ctx.Info, ConvProduct{Conv: c}, ch) == nil {
				t.Run(fmt.Sprintf("conv %s %+v", ch, g), func(t *testing.T) { checkConv(t, ctx, rng, g, ch) })
			}
		}
	}
	for _, g := range []Gemm{
		{M: 64, N: 128, K: 3136, Bias: true, ReLU: true},
		{M: 3136, N: 128, K: 64, TransA: true},
		{M: 64, N: 3136, K: 128, TransB: true},
	} {
		for _, prec := range Precisions {
			g := g.With(Default(ctx.Info, g, prec)).(Gemm)
			t.Run(fmt.Sprintf("gemm %dx%dx%d %s", g.M, g.N, g.K, g.Choice()), func(t *testing.T) { checkGemm(t, ctx, rng, g) })
		}
	}
}

package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestOptimizersMatchReference runs each optimizer's kernel, and the L2
// decay before it, on an odd length in slices (as past a device's binding
// limit), twice so that the state of the first step counts, against its
// plain-Go reference.
func TestOptimizersMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 32 << 10
	t.Cleanup(func() { maxRangeOverride = 0 })
	const n, lr, stepSize, corr2Sqrt, decay = 9001, 0.05, 0.5, 0.03, 0.999
	header := make([]uint32, StepWords)
	header[StepLR], header[StepStepSize] = math.Float32bits(lr), math.Float32bits(stepSize)
	header[StepCorr2Sqrt], header[StepDecay] = math.Float32bits(corr2Sqrt), math.Float32bits(decay)
	for _, c := range []struct {
		name   string
		wd     float32 // L2 decay first, where not 0
		kernel func(rec *vk.Recording, p, g, s1, s2, mask, step vk.Range) error
		ref    func(p, g, s1, s2, mask []float32)
	}{
		{"sgd", 0, func(rec *vk.Recording, p, g, s1, _, _, step vk.Range) error {
			return SGD(ctx, rec, SGDArgs{UpdateArgs: UpdateArgs{Params: p, Grads: g, Step: step, N: n}, MomentumBuffer: s1})
		}, func(p, g, s1, _, _ []float32) { ref.SGD(p, g, s1, lr, 0, false) }},
		{"sgd momentum", 0.01, func(rec *vk.Recording, p, g, s1, _, _, step vk.Range) error {
			return SGD(ctx, rec, SGDArgs{UpdateArgs: UpdateArgs{Params: p, Grads: g, Step: step, N: n}, MomentumBuffer: s1, Momentum: 0.9})
		}, func(p, g, s1, _, _ []float32) { ref.SGD(p, g, s1, lr, 0.9, false) }},
		{"sgd nesterov", 0, func(rec *vk.Recording, p, g, s1, _, _, step vk.Range) error {
			return SGD(ctx, rec, SGDArgs{UpdateArgs: UpdateArgs{Params: p, Grads: g, Step: step, N: n}, MomentumBuffer: s1, Momentum: 0.8, Nesterov: true})
		}, func(p, g, s1, _, _ []float32) { ref.SGD(p, g, s1, lr, 0.8, true) }},
		{"rmsprop", 0.02, func(rec *vk.Recording, p, g, s1, _, _, step vk.Range) error {
			return RMSprop(ctx, rec, RMSpropArgs{UpdateArgs: UpdateArgs{Params: p, Grads: g, Step: step, N: n}, SquareAvg: s1, Rho: 0.99, Eps: 1e-8})
		}, func(p, g, s1, _, _ []float32) { ref.RMSprop(p, g, s1, lr, 0.99, 1e-8) }},
		{"adamw", 0, func(rec *vk.Recording, p, g, s1, s2, mask, step vk.Range) error {
			return AdamW(ctx, rec, AdamWArgs{AdamArgs: AdamArgs{UpdateArgs: UpdateArgs{Params: p, Grads: g, Step: step, N: n},
				M: s1, V: s2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, Mask: mask})
		}, func(p, g, s1, s2, mask []float32) {
			ref.AdamW(p, g, s1, s2, mask, decay, stepSize, corr2Sqrt, 0.9, 0.999, 1e-8)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, uint64(len(c.name))))
			p, s1, s2 := randomFloats(rng, n), make([]float32, n), make([]float32, n)
			mask := make([]float32, n)
			for i := range mask {
				mask[i] = float32(i / 100 % 2) // ranges of 100 decayed, 100 not
			}
			pB, s1B, s2B, maskB := upload(t, ctx, p), upload(t, ctx, s1), upload(t, ctx, s2), upload(t, ctx, mask)
			step := uploadWords(t, ctx, header)
			for k := range 2 {
				g := randomFloats(rng, n)
				gB := upload(t, ctx, g)
				run(t, ctx, func(rec *vk.Recording) error {
					var err error
					if c.wd != 0 {
						err = WeightDecay(ctx, rec, vk.Whole(pB), vk.Whole(gB), vk.Whole(maskB), n, c.wd)
					}
					return errors.Join(err, c.kernel(rec, vk.Whole(pB), vk.Whole(gB), vk.Whole(s1B), vk.Whole(s2B), vk.Whole(maskB), vk.Whole(step)))
				})
				before := slices.Clone(p)
				if c.wd != 0 {
					ref.WeightDecay(p, g, mask, c.wd)
				}
				c.ref(p, g, s1, s2, mask)
				if slices.Equal(before, p) {
					t.Fatal("the reference moved no parameter")
				}
				what := fmt.Sprintf("step %d", k+1)
				expectClose(t, what+" parameters", download(t, pB, n), p, 1e-6)
				expectClose(t, what+" first state", download(t, s1B, n), s1, 1e-6)
				expectClose(t, what+" second state", download(t, s2B, n), s2, 1e-6)
			}
		})
	}
}

// TestClipGradNormMatchesReference clips an odd number of gradients, in
// slices (as past a device's binding limit), to a norm below theirs and
// to one above it (which leaves them as they are).
func TestClipGradNormMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 32 << 10
	t.Cleanup(func() { maxRangeOverride = 0 })
	const n = 70001
	for _, maxNorm := range []float32{3, 1e4} {
		rng := rand.New(rand.NewPCG(41, 42))
		g := randomFloats(rng, n)
		gB, scratch, clip := upload(t, ctx, g), upload(t, ctx, make([]float32, GradNormScratch(n))), upload(t, ctx, make([]float32, 2))
		run(t, ctx, func(rec *vk.Recording) error {
			return ClipGradNorm(ctx, rec, vk.Whole(gB), vk.Whole(scratch), vk.Whole(clip), n, maxNorm)
		})
		before := slices.Clone(g)
		norm := ref.ClipGradNorm(g, float64(maxNorm))
		got := download(t, clip, 2)
		if math.Abs(float64(got[0])-norm) > 1e-5*norm {
			t.Fatalf("max norm %g: norm %g, want %g", maxNorm, got[0], norm)
		}
		if want := min(1, float64(maxNorm)/(norm+1e-6)); math.Abs(float64(got[1])-want) > 1e-5*want {
			t.Fatalf("max norm %g: scale %g, want %g", maxNorm, got[1], want)
		}
		if clipped := !slices.Equal(before, g); clipped != (float64(maxNorm) < norm) {
			t.Fatalf("max norm %g, norm %g: the reference clipped: %v", maxNorm, norm, clipped)
		}
		expectClose(t, fmt.Sprintf("max norm %g: gradients", maxNorm), download(t, gB, n), g, 1e-6)
	}
}

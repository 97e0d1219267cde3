package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

func TestAvgPoolMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(23, 24))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range poolShapes {
		b, h, w, c := s.b, s.h, s.w, s.c
		maxRangeOverride = s.limit
		n, outs := b*h*w*c, b*(h/2)*(w/2)*c
		x, dOut := randomFloats(rng, n), randomFloats(rng, outs)
		xB, dOutB := upload(t, ctx, x), upload(t, ctx, dOut)
		// Garbage that the trailing row and column's zeros must overwrite.
		poolB, dInB := upload(t, ctx, randomFloats(rng, outs)), upload(t, ctx, randomFloats(rng, n))
		run(t, ctx, func(rec *vk.Recording) error {
			return errors.Join(
				AvgPool(ctx, rec, vk.Whole(xB), vk.Whole(poolB), b, h, w, c),
				AvgPoolBackward(ctx, rec, vk.Whole(dOutB), vk.Whole(dInB), b, h, w, c))
		})
		expectClose(t, fmt.Sprintf("%v: average pool", s), download(t, poolB, outs), ref.AvgPool(x, b, h, w, c), 1e-7)
		expectExact(t, fmt.Sprintf("%v: average pool backward", s), download(t, dInB, n), ref.AvgPoolBackward(dOut, b, h, w, c))
	}
}

// batchNormShapes are batch normalization's odd shapes: one sample of a
// pixel, tall matrices of several partial chunks, and padding samples
// (valid < batch). The last runs in slices of two chunks of 64 rows
// within a lowered storage-buffer range, the second slice partly padding.
var batchNormShapes = []struct {
	batch, pixels, c, valid int
	limit                   int64
}{
	{1, 1, 1, 1, 0}, {3, 1, 7, 2, 0}, {5, 15, 3, 5, 0}, {4, 143, 5, 3, 0}, {2, 28 * 28, 6, 1, 0}, {6, 50, 5, 4, 2600},
}

// TestBatchNormMatchesReference runs a training step's statistics (with
// the moving averages' update), normalization and gradients, and an
// evaluation's, on odd shapes: one sample of a pixel, tall matrices of
// several partial chunks, and padding samples whose values, far off the
// others, must not move the statistics nor get a gradient.
func TestBatchNormMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(25, 26))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range batchNormShapes {
		maxRangeOverride = s.limit
		t.Run(fmt.Sprintf("batch=%d,pixels=%d,c=%d,valid=%d,limit=%d", s.batch, s.pixels, s.c, s.valid, s.limit), func(t *testing.T) {
			bn := BatchNorm{Batch: s.batch, Pixels: s.pixels, C: s.c, Eps: 1e-3, Momentum: 0.99}
			r := ref.BatchNorm{Rows: s.batch * s.pixels, C: s.c, Valid: s.valid * s.pixels, Eps: float64(bn.Eps), Momentum: float64(bn.Momentum)}
			n := r.Rows * s.c
			x, dy := randomFloats(rng, n), randomFloats(rng, n)
			for i := range x {
				x[i] = 3 + 2*x[i] // a mean far from 0 tests the variance's accuracy
				if i >= r.Valid*s.c {
					x[i], dy[i] = 1e4, 0 // padding: as the loss leaves it, no gradient
				}
			}
			gamma, beta, movingMean, movingVar := randomFloats(rng, s.c), randomFloats(rng, s.c), randomFloats(rng, s.c), randomFloats(rng, s.c)
			for i := range movingVar {
				movingVar[i] = 0.5 + movingVar[i]*movingVar[i]
			}
			xB, dyB, gammaB, betaB := upload(t, ctx, x), upload(t, ctx, dy), upload(t, ctx, gamma), upload(t, ctx, beta)
			mmB, mvB := upload(t, ctx, movingMean), upload(t, ctx, movingVar)
			statsB, scratchB := upload(t, ctx, make([]float32, bn.StatsFloats())), upload(t, ctx, make([]float32, bn.Scratch()))
			yB, dGammaB, dBetaB := upload(t, ctx, make([]float32, n)), upload(t, ctx, make([]float32, s.c)), upload(t, ctx, make([]float32, s.c))
			evalStatsB, evalYB := upload(t, ctx, make([]float32, bn.StatsFloats())), upload(t, ctx, make([]float32, n))
			const counter = 5 // the moving averages' update t
			header := uploadWords(t, ctx, stepHeader(counter, 0, uint32(s.valid), 0))
			w := vk.Whole
			// Evaluation first, with the moving averages as they were.
			run(t, ctx, func(rec *vk.Recording) error {
				return errors.Join(
					bn.MovingStats(ctx, rec, w(xB), w(header), w(scratchB), w(evalStatsB), w(mmB), w(mvB)),
					bn.Normalize(ctx, rec, w(xB), w(evalStatsB), w(gammaB), w(betaB), w(evalYB)),
					bn.BatchStats(ctx, rec, w(xB), w(header), w(scratchB), w(statsB), w(mmB), w(mvB), true),
					bn.Normalize(ctx, rec, w(xB), w(statsB), w(gammaB), w(betaB), w(yB)),
					bn.Gradients(ctx, rec, w(xB), w(dyB), w(header), w(statsB), w(gammaB), w(betaB), w(scratchB), w(dGammaB), w(dBetaB)),
					bn.InputGradient(ctx, rec, w(xB), w(dyB), w(header), w(statsB), w(gammaB), w(betaB), w(dGammaB), w(dBetaB)))
			})
			mean, variance := r.Stats(x)
			stats := download(t, statsB, 2*s.c)
			for c := range s.c {
				if d := math.Abs(float64(stats[c]) - mean[c]); d > 1e-5 {
					t.Fatalf("channel %d: mean %g, want %g", c, stats[c], mean[c])
				}
				if want := 1 / math.Sqrt(variance[c]+r.Eps); math.Abs(float64(stats[s.c+c])-want) > 1e-4*want {
					t.Fatalf("channel %d: 1/sqrt(var + eps) %g, want %g", c, stats[s.c+c], want)
				}
			}
			expectRelative(t, "normalized", download(t, yB, n), r.Forward(x, gamma, beta, mean, variance), 1e-5)
			expectRelative(t, "moving mean", download(t, mmB, s.c), r.Update(movingMean, mean, counter), 1e-5)
			expectRelative(t, "moving variance", download(t, mvB, s.c), r.Update(movingVar, r.Unbiased(variance), counter), 1e-5)
			dGamma, dBeta, dx := r.Backward(x, dy, gamma, mean, variance)
			expectClose(t, "gamma gradient", download(t, dGammaB, s.c), dGamma, 1e-3)
			expectClose(t, "beta gradient", download(t, dBetaB, s.c), dBeta, 1e-3)
			expectClose(t, "input gradient", download(t, dyB, n), dx, 1e-4)
			toFloat64 := func(v []float32) []float64 {
				out := make([]float64, len(v))
				for i, f := range v {
					out[i] = float64(f)
				}
				return out
			}
			expectRelative(t, "normalized with the moving statistics", download(t, evalYB, n),
				r.Forward(x, gamma, beta, toFloat64(movingMean), toFloat64(movingVar)), 1e-5)
		})
	}
}

// expectRelative fails where |got - want| exceeds tol max(1, |want|).
func expectRelative(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*max(1, math.Abs(float64(want[i])))) {
			t.Fatalf("%s: element %d is %g, want %g (relative error %.3g > %.3g)", what, i, got[i], want[i], d/max(1, math.Abs(float64(want[i]))), tol)
		}
	}
}

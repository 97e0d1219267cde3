package kernels

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// reluFusedBench is the workbench of the kernels that run a ReLU in the
// passes of the layer before it (batchnorm_relu.comp, add_relu.comp),
// which drives TestReLUFusedMatchesLayersApart and BenchmarkReLUFused:
// each with the bytes it reads and writes a value, forward and backward,
// fused and as the two layers apart, and the fixture that runs it both
// ways (batch normalization's statistics, the same in both, its setup).
var reluFusedBench = []struct {
	name         string
	fused, apart [2]float64
	fixture      func(tb testing.TB, ctx *vk.Context, rng *rand.Rand, batch, pixels, c, valid int) reluFixture
}{
	// Normalize reads x, writes y; the gradients read x and dy, the input
	// gradient x and dy and writes dx. Apart, the ReLU reads y and writes
	// its output forward, reads it and dy and writes dy backward.
	{"batchnorm+relu", [2]float64{8, 20}, [2]float64{16, 32}, batchNormReLUFixture},
	// Apart, the add's backward copies the gradient to each input's.
	{"add+relu", [2]float64{12, 16}, [2]float64{20, 28}, addReLUFixture},
}

// reluFixture runs one kernel of the workbench, fused and apart, on its
// own buffers.
type reluFixture struct {
	// setup records what both ways need first, where anything.
	setup func(rec *vk.Recording) error
	// forward and backward record the pass apart ([0]) and fused ([1]).
	forward, backward [2]func(rec *vk.Recording) error
	// check compares what the fused kernels left with what the layers
	// apart left, bit for bit, and with the reference.
	check func(t *testing.T)
}

func batchNormReLUFixture(tb testing.TB, ctx *vk.Context, rng *rand.Rand, batch, pixels, c, valid int) reluFixture {
	apart := BatchNorm{Batch: batch, Pixels: pixels, C: c, Eps: 1e-3, Momentum: 0.99}
	fused := apart
	fused.ReLU = true
	r := ref.BatchNorm{Rows: batch * pixels, C: c, Valid: valid * pixels, Eps: float64(apart.Eps), Momentum: float64(apart.Momentum)}
	n := r.Rows * c
	x, dy := randomFloats(rng, n), randomFloats(rng, n)
	for i := range x {
		x[i] = 3 + 2*x[i]
		if i >= r.Valid*c {
			x[i], dy[i] = 1e4, 0 // padding: as the loss leaves it, no gradient
		}
	}
	gamma, beta := randomFloats(rng, c), randomFloats(rng, c)
	xB, gammaB, betaB := upload(tb, ctx, x), upload(tb, ctx, gamma), upload(tb, ctx, beta)
	zeros := func(n int) vk.Range { return vk.Whole(upload(tb, ctx, make([]float32, n))) }
	header := vk.Whole(uploadWords(tb, ctx, stepHeader(1, 0, uint32(valid), 0)))
	stats, scratch, moving := zeros(apart.StatsFloats()), zeros(apart.Scratch()), zeros(c)
	// Each way's output, its output gradient (the input gradient after),
	// and gamma's and beta's gradients.
	var y, g, dGamma, dBeta [2]vk.Range
	var yBuf, gBuf, dGammaBuf, dBetaBuf [2]*vk.Buffer
	for k := range 2 {
		yBuf[k], gBuf[k] = upload(tb, ctx, make([]float32, n)), upload(tb, ctx, dy)
		dGammaBuf[k], dBetaBuf[k] = upload(tb, ctx, make([]float32, c)), upload(tb, ctx, make([]float32, c))
		y[k], g[k], dGamma[k], dBeta[k] = vk.Whole(yBuf[k]), vk.Whole(gBuf[k]), vk.Whole(dGammaBuf[k]), vk.Whole(dBetaBuf[k])
	}
	w := vk.Whole
	f := reluFixture{setup: func(rec *vk.Recording) error {
		return apart.BatchStats(ctx, rec, w(xB), header, scratch, stats, moving, moving, false)
	}}
	for k, bn := range []BatchNorm{apart, fused} {
		f.forward[k] = func(rec *vk.Recording) error {
			err := bn.Normalize(ctx, rec, w(xB), stats, w(gammaB), w(betaB), y[k])
			if !bn.ReLU {
				err = errors.Join(err, ReLU(ctx, rec, y[k], y[k], n))
			}
			return err
		}
		f.backward[k] = func(rec *vk.Recording) error {
			var err error
			if !bn.ReLU {
				err = ReLUBackward(ctx, rec, y[k], g[k], n)
			}
			return errors.Join(err,
				bn.Gradients(ctx, rec, w(xB), g[k], header, stats, w(gammaB), w(betaB), scratch, dGamma[k], dBeta[k]),
				bn.InputGradient(ctx, rec, w(xB), g[k], header, stats, w(gammaB), w(betaB), dGamma[k], dBeta[k]))
		}
	}
	f.check = func(t *testing.T) {
		got := func(b [2]*vk.Buffer, n int) [2][]float32 {
			return [2][]float32{download(t, b[0], n), download(t, b[1], n)}
		}
		ys, gs, dGammas, dBetas := got(yBuf, n), got(gBuf, n), got(dGammaBuf, c), got(dBetaBuf, c)
		expectExact(t, "output", ys[1], ys[0])
		expectExact(t, "gamma gradient", dGammas[1], dGammas[0])
		expectExact(t, "beta gradient", dBetas[1], dBetas[0])
		expectExact(t, "input gradient", gs[1], gs[0])
		mean, variance := r.Stats(x)
		expectRelative(t, "output against the reference", ys[1], r.ForwardReLU(x, gamma, beta, mean, variance), 1e-5)
		wantGamma, wantBeta, wantDx := r.BackwardReLU(x, dy, gamma, beta, mean, variance)
		expectClose(t, "gamma gradient against the reference", dGammas[1], wantGamma, 1e-3)
		expectClose(t, "beta gradient against the reference", dBetas[1], wantBeta, 1e-3)
		expectClose(t, "input gradient against the reference", gs[1], wantDx, 1e-4)
	}
	return f
}

func addReLUFixture(tb testing.TB, ctx *vk.Context, rng *rand.Rand, batch, pixels, c, _ int) reluFixture {
	n := batch * pixels * c
	x, y, dz := randomFloats(rng, n), randomFloats(rng, n), randomFloats(rng, n)
	xB, yB := vk.Whole(upload(tb, ctx, x)), vk.Whole(upload(tb, ctx, y))
	// Each way's output, output gradient and input gradients; fused, a
	// third input gradient written alone.
	var zBuf, dzBuf, dxBuf, dyBuf [2]*vk.Buffer
	var z, dzs, dx, dy [2]vk.Range
	for k := range 2 {
		zBuf[k], dzBuf[k] = upload(tb, ctx, make([]float32, n)), upload(tb, ctx, dz)
		dxBuf[k], dyBuf[k] = upload(tb, ctx, make([]float32, n)), upload(tb, ctx, make([]float32, n))
		z[k], dzs[k], dx[k], dy[k] = vk.Whole(zBuf[k]), vk.Whole(dzBuf[k]), vk.Whole(dxBuf[k]), vk.Whole(dyBuf[k])
	}
	aloneBuf := upload(tb, ctx, make([]float32, n))
	var f reluFixture
	f.forward[0] = func(rec *vk.Recording) error {
		return errors.Join(Add(ctx, rec, xB, yB, z[0], n), ReLU(ctx, rec, z[0], z[0], n))
	}
	f.backward[0] = func(rec *vk.Recording) error {
		return errors.Join(ReLUBackward(ctx, rec, z[0], dzs[0], n), Scale(ctx, rec, dzs[0], dx[0], n, 1), Scale(ctx, rec, dzs[0], dy[0], n, 1))
	}
	f.forward[1] = func(rec *vk.Recording) error { return AddReLU(ctx, rec, xB, yB, z[1], n) }
	f.backward[1] = func(rec *vk.Recording) error {
		return errors.Join(AddReLUBackward(ctx, rec, z[1], dzs[1], dx[1], dy[1], n),
			AddReLUBackward(ctx, rec, z[1], dzs[1], vk.Whole(aloneBuf), vk.Range{}, n))
	}
	f.check = func(t *testing.T) {
		zs := [2][]float32{download(t, zBuf[0], n), download(t, zBuf[1], n)}
		expectExact(t, "output", zs[1], zs[0])
		apart := download(t, dxBuf[0], n)
		expectExact(t, "first input gradient", download(t, dxBuf[1], n), apart)
		expectExact(t, "second input gradient", download(t, dyBuf[1], n), apart)
		expectExact(t, "an input gradient alone", download(t, aloneBuf, n), apart)
		expectExact(t, "output against the reference", zs[1], ref.AddReLU(x, y))
		expectExact(t, "input gradient against the reference", apart, ref.ReLUBackward(zs[1], dz))
	}
	return f
}

// TestReLUFusedMatchesLayersApart runs each fused kernel and the two
// layers apart on batch normalization's odd shapes (the add on as many
// values): the results must agree bit for bit, as nn's fusion promises,
// and with the references.
func TestReLUFusedMatchesLayersApart(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(27, 28))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, w := range reluFusedBench {
		for _, s := range batchNormShapes {
			t.Run(fmt.Sprintf("%s/batch=%d,pixels=%d,c=%d,valid=%d,limit=%d", w.name, s.batch, s.pixels, s.c, s.valid, s.limit), func(t *testing.T) {
				maxRangeOverride = s.limit
				f := w.fixture(t, ctx, rng, s.batch, s.pixels, s.c, s.valid)
				if f.setup != nil {
					run(t, ctx, f.setup)
				}
				for k := range 2 {
					run(t, ctx, f.forward[k])
					run(t, ctx, f.backward[k])
				}
				f.check(t)
			})
		}
	}
}

// BenchmarkReLUFused times each kernel of the workbench, fused and apart,
// forward and backward, at resnet20's first stage (128 images of 28x28
// and 16 channels): go test ./nn/kernels -run '^$' -bench ReLUFused.
func BenchmarkReLUFused(b *testing.B) {
	ctx := vktest.Open(b)
	rng := rand.New(rand.NewPCG(29, 30))
	const batch, pixels, c = 128, 28 * 28, 16
	for _, w := range reluFusedBench {
		f := w.fixture(b, ctx, rng, batch, pixels, c, batch)
		if f.setup != nil {
			rec, err := ctx.NewRecording()
			if err != nil {
				b.Fatal(err)
			}
			err = errors.Join(f.setup(rec), rec.Run())
			rec.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		for k, way := range []string{"apart", "fused"} {
			for pass, record := range [2]func(*vk.Recording) error{f.forward[k], f.backward[k]} {
				b.Run(fmt.Sprintf("%s/%s/%s", w.name, way, []string{"forward", "backward"}[pass]), func(b *testing.B) {
					rec, err := ctx.NewRecording()
					if err != nil {
						b.Fatal(err)
					}
					defer rec.Close()
					if err := record(rec); err != nil {
						b.Fatal(err)
					}
					bytes := [2][2]float64{w.apart, w.fused}[k][pass]
					b.SetBytes(int64(bytes * batch * pixels * c))
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

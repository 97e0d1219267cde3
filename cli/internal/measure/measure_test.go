package measure

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

func TestGemmChecksEveryEntryOfASmallProduct(t *testing.T) {
	ctx := vktest.Open(t)
	g := kernels.Gemm{M: 37, N: 29, K: 41}
	g.Variant = kernels.Default(ctx.Info, g, kernels.FP32).Variant
	res, err := Gemm(ctx, g, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != g.M*g.N || res.MaxError > 1e-5 {
		t.Errorf("checked %d entries (want %d), max error %g", res.Checked, g.M*g.N, res.MaxError)
	}
	if res.MinSeconds <= 0 || res.MedianSeconds < res.MinSeconds || res.BestGFLOPS < res.MedianGFLOPS || res.Warmup.Runs < 1 {
		t.Errorf("min %gs, median %gs, %g GFLOPS best, %g median", res.MinSeconds, res.MedianSeconds, res.BestGFLOPS, res.MedianGFLOPS)
	}
}

// gemmError finds a wrong entry.
func TestGemmErrorSeesAWrongEntry(t *testing.T) {
	ctx := vktest.Open(t)
	g := kernels.Gemm{M: 5, N: 3, K: 4}
	rng := rand.New(rand.NewPCG(1, 2))
	var bufs vk.Buffers
	defer bufs.Close()
	_, a, err := randomFloats(ctx, &bufs, g.M*g.K, rng.Float32)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := randomFloats(ctx, &bufs, g.K*g.N, rng.Float32)
	if err != nil {
		t.Fatal(err)
	}
	c := make([]float32, g.M*g.N)
	for i := range g.M {
		for j := range g.N {
			c[i*g.N+j] = float32(ref.GemmEntry(g.M, g.N, g.K, a, b, false, false, i, j))
		}
	}
	c[7] += 0.5
	cb, err := bufs.New(ctx, 4*int64(len(c)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cb.WriteFloat32(0, c); err != nil {
		t.Fatal(err)
	}
	worst, checked, err := gemmError(g, a, b, cb, rng)
	if err != nil {
		t.Fatal(err)
	}
	if checked != len(c) || math.Abs(worst-0.5) > 1e-6 {
		t.Errorf("max error %g over %d entries, want 0.5 over %d", worst, checked, len(c))
	}
}

func smallModel(t *testing.T) *nn.Model {
	t.Helper()
	spec, err := nn.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	return model
}

func TestTuneTimesEveryCandidate(t *testing.T) {
	ctx := vktest.Open(t)
	if !ctx.Info.Timestamps {
		t.Skip("the device has no timestamps")
	}
	_, products := nn.Products(smallModel(t), 2)
	// The second convolution's forward pass runs a matrix variant at bf16.
	for _, tc := range []struct {
		p    kernels.Product
		prec kernels.Precision
	}{{products[len(products)-1], kernels.FP32}, {products[2], kernels.BF16}} {
		var want []string
		for _, ch := range kernels.Choices(ctx.Info, tc.p, tc.prec) {
			want = append(want, ch.String())
		}
		tuned, err := Tune(ctx, tc.p, tc.prec, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		fastest := math.Inf(1)
		for _, c := range tuned.Candidates {
			got = append(got, c.Variant)
			if c.Skipped == "" {
				fastest = min(fastest, c.MedianSeconds)
				if c.Warmup == nil || c.Warmup.Runs < 1 {
					t.Errorf("%s timed without a warm-up: %+v", c.Variant, c.Warmup)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("candidates %q, want %q", got, want)
		}
		i := slices.IndexFunc(tuned.Candidates, func(c Candidate) bool { return c.Variant == tuned.Best })
		if i < 0 || tuned.Candidates[i].MedianSeconds != fastest {
			t.Errorf("best %q is not the fastest of %+v", tuned.Best, tuned.Candidates)
		}
	}
}

func TestStepMeasuresEveryPart(t *testing.T) {
	ctx := vktest.Open(t)
	if !ctx.Info.Timestamps {
		t.Skip("the device has no timestamps")
	}
	model := smallModel(t)
	tuning := kernels.NewTuning(ctx.Info, kernels.FP32, nil)
	res, err := Step(ctx, model, tuning, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := nn.Products(model, 2)
	var kernelNames []string
	for _, k := range res.Kernels {
		kernelNames = append(kernelNames, k.Name)
	}
	if !slices.Equal(kernelNames, names) {
		t.Errorf("kernels of %q, want %q", kernelNames, names)
	}
	share, sum := 0.0, 0.0
	for _, p := range res.Parts {
		share += p.Share
		sum += p.Seconds
	}
	if len(res.Parts) == 0 || math.Abs(sum-res.PartsSeconds) > 1e-9 || math.Abs(share-res.PartsSeconds/res.StepSeconds) > 1e-9 {
		t.Errorf("%d parts: %gs and shares %g, parts %gs of a %gs step", len(res.Parts), sum, share, res.PartsSeconds, res.StepSeconds)
	}
	if res.WallStepSeconds <= 0 || res.TrainImagesPerS <= 0 || res.InferImagesPerS <= 0 || res.CopyGBPerS <= 0 || res.Batch != 2 || res.Warmup.Runs < 1 {
		t.Errorf("%+v", res)
	}
}

// warmUp runs until two successive rounds' medians agree, or until its
// limit; a run over the limit is the only one.
func TestWarmUpUntilTheRateSettles(t *testing.T) {
	for _, c := range []struct {
		name  string
		times []float64 // cycled
		limit float64
		want  Warmup
	}{
		// Rounds' medians 10, 5, 4, 4.05: settled after four rounds.
		{"settles", []float64{10, 9, 11, 5, 5, 6, 4, 4, 3, 4.05, 9, 4}, 1000, Warmup{Runs: 12, Seconds: 74.05, Settled: true}},
		// Medians 1, 2, 1, ...: never; the limit ends it mid-round.
		{"never", []float64{1, 1, 1, 2, 2, 2}, 10, Warmup{Runs: 7, Seconds: 10}},
		{"one slow run", []float64{5}, 0.1, Warmup{Runs: 1, Seconds: 5}},
	} {
		i := 0
		got, err := warmUp(func() (float64, error) {
			i++
			return c.times[(i-1)%len(c.times)], nil
		}, c.limit)
		if err != nil || got.Runs != c.want.Runs || math.Abs(got.Seconds-c.want.Seconds) > 1e-9 || got.Settled != c.want.Settled {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

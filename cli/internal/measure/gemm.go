package measure

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
)

// GemmResult is one GEMM variant's measurement.
type GemmResult struct {
	Device        string  `json:"device"`
	Driver        string  `json:"driver"`
	Variant       string  `json:"variant"`
	Precision     string  `json:"precision"`
	M             int     `json:"m"`
	N             int     `json:"n"`
	K             int     `json:"k"`
	Reps          int     `json:"reps"`
	Timer         string  `json:"timer"`
	MaxError      float64 `json:"max_abs_error"`
	Checked       int     `json:"checked_entries"`
	Warmup        Warmup  `json:"warmup"`
	MinSeconds    float64 `json:"min_s"`
	MedianSeconds float64 `json:"median_s"`
	BestGFLOPS    float64 `json:"best_gflops"`
	MedianGFLOPS  float64 `json:"median_gflops"`
}

// Gemm runs the product once on random operands and checks it against the
// reference of the products its precision sums (every entry for small
// products, a sample otherwise), then warms up and times reps runs.
func Gemm(ctx *vk.Context, g kernels.Gemm, reps int) (GemmResult, error) {
	res := GemmResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Variant: g.Choice().String(), Precision: g.Precision.String(),
		M: g.M, N: g.N, K: g.K, Reps: reps}
	rng := rand.New(rand.NewPCG(1, uint64(g.M*g.N*g.K)))
	var bufs vk.Buffers
	defer bufs.Close()
	ab, a, err := randomFloats(ctx, &bufs, g.M*g.K, rng.Float32)
	if err != nil {
		return res, err
	}
	bb, b, err := randomFloats(ctx, &bufs, g.K*g.N, rng.Float32)
	if err != nil {
		return res, err
	}
	cb, err := bufs.New(ctx, 4*int64(g.M*g.N))
	if err != nil {
		return res, err
	}
	scratch, err := bufs.New(ctx, 4*int64(max(g.Scratch(ctx.Info), 1)))
	if err != nil {
		return res, err
	}

	rec, err := timedRecording(ctx, func(rec *vk.Recording) error {
		return g.Record(ctx, rec, kernels.GemmArgs{A: vk.Whole(ab), B: vk.Whole(bb), C: vk.Whole(cb), Scratch: vk.Whole(scratch)})
	})
	if err != nil {
		return res, err
	}
	defer rec.Close()
	if err := rec.Run(); err != nil {
		return res, err
	}
	if err := ctx.Check(); err != nil {
		return res, err
	}
	if res.MaxError, res.Checked, err = gemmError(g, a, b, cb, rng); err != nil {
		return res, err
	}
	if tol := 4*float64(terms(g)*g.K)/(1<<23) + 1e-6; res.MaxError > tol {
		return res, fmt.Errorf("wrong result: max |error| %.3g exceeds %.3g", res.MaxError, tol)
	}

	if res.Warmup, err = warmUp(recordingRun(ctx, rec), warmupLimitOn(ctx.Info)); err != nil {
		return res, err
	}
	times, err := runTimes(ctx, rec, reps)
	if err != nil {
		return res, err
	}
	res.Timer = "wall clock"
	if ctx.Info.Timestamps {
		res.Timer = "GPU timestamps"
	}
	slices.Sort(times)
	res.MinSeconds, res.MedianSeconds = times[0], times[len(times)/2]
	res.BestGFLOPS = g.FLOPs() / res.MinSeconds / 1e9
	res.MedianGFLOPS = g.FLOPs() / res.MedianSeconds / 1e9
	return res, nil
}

// terms is how many products a term of the sum over k is at g's
// precision (ref.Terms).
func terms(g kernels.Gemm) int { return len(ref.Terms(nil, nil, g.Precision.BF16Parts())) }

// gemmError is the largest difference of the product in c from the
// reference of the products its precision sums, over checkedEntries, and
// how many entries it checked.
func gemmError(g kernels.Gemm, a, b []float32, c *vk.Buffer, rng *rand.Rand) (float64, int, error) {
	got := make([]float32, g.M*g.N)
	if err := c.ReadFloat32(0, got); err != nil {
		return 0, 0, err
	}
	entries := checkedEntries(g, rng)
	pairs := ref.Terms(a, b, g.Precision.BF16Parts())
	worst := 0.0
	for _, e := range entries {
		want := 0.0
		for _, t := range pairs {
			want += ref.GemmEntry(g.M, g.N, g.K, t[0], t[1], false, false, e[0], e[1])
		}
		d := math.Abs(float64(got[e[0]*g.N+e[1]]) - want)
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		worst = max(worst, d)
	}
	return worst, len(entries), nil
}

// checkedEntries lists every entry of C for small products and a random
// sample of 256, plus the corners, for large ones.
func checkedEntries(g kernels.Gemm, rng *rand.Rand) [][2]int {
	var out [][2]int
	if float64(g.M)*float64(g.N)*float64(g.K) <= 1<<26 {
		for i := 0; i < g.M; i++ {
			for j := 0; j < g.N; j++ {
				out = append(out, [2]int{i, j})
			}
		}
		return out
	}
	out = append(out, [2]int{0, 0}, [2]int{g.M - 1, g.N - 1}, [2]int{0, g.N - 1}, [2]int{g.M - 1, 0})
	for range 256 {
		out = append(out, [2]int{rng.IntN(g.M), rng.IntN(g.N)})
	}
	return out
}

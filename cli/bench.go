package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"vkcnn/nn/kernels"
	"vkcnn/nn/ref"
	"vkcnn/vk"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:         "bench",
		Usage:        "measure kernels on the chosen device",
		OnUsageError: usageError,
		Subcommands: []*cli.Command{{
			Name:      "gemm",
			Usage:     "verify, then time C = A*B (M x K times K x N) for GEMM variants",
			UsageText: "vkcnn bench gemm --m M --n N --k K [--reps R] [--variant V|all] [--json] [--device D]",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "m", Value: 1024, Usage: "rows of A and C"},
				&cli.IntFlag{Name: "n", Value: 1024, Usage: "columns of B and C"},
				&cli.IntFlag{Name: "k", Value: 1024, Usage: "columns of A, rows of B"},
				&cli.IntFlag{Name: "reps", Value: 10, Usage: "timed repetitions after one verified run"},
				&cli.StringFlag{Name: "variant", Usage: "GEMM variant (" + variantNames() + ") or all; default: the device's default"},
				&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
				deviceFlag,
			},
			OnUsageError: usageError,
			Action:       benchGemm,
		}, benchAllCommand(), benchShadersCommand()},
	}
}

func variantNames() string {
	var names []string
	for _, v := range kernels.GemmVariants {
		names = append(names, v.Name)
	}
	return fmt.Sprint(names)
}

// gemmResult is one variant's measurement.
type gemmResult struct {
	Device        string  `json:"device"`
	Driver        string  `json:"driver"`
	Variant       string  `json:"variant"`
	M             int     `json:"m"`
	N             int     `json:"n"`
	K             int     `json:"k"`
	Reps          int     `json:"reps"`
	Timer         string  `json:"timer"`
	MaxError      float64 `json:"max_abs_error"`
	Checked       int     `json:"checked_entries"`
	MinSeconds    float64 `json:"min_s"`
	MedianSeconds float64 `json:"median_s"`
	BestGFLOPS    float64 `json:"best_gflops"`
	MedianGFLOPS  float64 `json:"median_gflops"`
}

func benchGemm(c *cli.Context) (err error) {
	m, n, k, reps := c.Int("m"), c.Int("n"), c.Int("k"), c.Int("reps")
	if m <= 0 || n <= 0 || k <= 0 {
		return fmt.Errorf("--m, --n and --k must be positive (got %d, %d, %d)", m, n, k)
	}
	if reps <= 0 {
		return fmt.Errorf("--reps must be positive (got %d)", reps)
	}
	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)

	var variants []kernels.GemmVariant
	switch name := c.String("variant"); name {
	case "":
		variants = []kernels.GemmVariant{kernels.DefaultGemmVariant(ctx.Info, m, n)}
	case "all":
		for _, v := range kernels.GemmVariants {
			if v.Usable(ctx.Info) == nil {
				variants = append(variants, v)
			}
		}
	default:
		v, err := kernels.GemmVariantByName(name)
		if err != nil {
			return err
		}
		if err := v.Usable(ctx.Info); err != nil {
			return err
		}
		variants = []kernels.GemmVariant{v}
	}

	var results []gemmResult
	for _, v := range variants {
		g := kernels.Gemm{M: m, N: n, K: k, Variant: v}
		g.Split = kernels.DefaultSplit(ctx.Info, g)
		r, err := measureGemm(ctx, g, reps)
		if err != nil {
			return fmt.Errorf("gemm %dx%dx%d, %s: %w", m, n, k, r.Variant, err)
		}
		results = append(results, r)
		if !c.Bool("json") {
			fmt.Fprintf(c.App.Writer, "gemm %dx%dx%d %-9s on %s: max |error| %.2g over %d entries; min %s, median %s; %.1f GFLOPS best, %.1f median (%s, %d reps)\n",
				m, n, k, r.Variant, r.Device, r.MaxError, r.Checked, seconds(r.MinSeconds), seconds(r.MedianSeconds), r.BestGFLOPS, r.MedianGFLOPS, r.Timer, reps)
		}
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return nil
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// measureGemm runs the product once and checks it against the reference
// (every entry for small products, a sample otherwise), then times reps runs.
func measureGemm(ctx *vk.Context, g kernels.Gemm, reps int) (gemmResult, error) {
	choice := kernels.Choice{Variant: g.Variant, Split: g.Split}
	res := gemmResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Variant: choice.String(), M: g.M, N: g.N, K: g.K, Reps: reps}
	rng := rand.New(rand.NewPCG(1, uint64(g.M*g.N*g.K)))
	random := func(count int) []float32 {
		x := make([]float32, count)
		for i := range x {
			x[i] = 2*rng.Float32() - 1
		}
		return x
	}
	a, b := random(g.M*g.K), random(g.K*g.N)
	var bufs []*vk.Buffer
	defer func() {
		for _, buf := range bufs {
			buf.Close()
		}
	}()
	newBuffer := func(data []float32, count int) (*vk.Buffer, error) {
		buf, err := ctx.NewBuffer(4 * int64(count))
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, buf)
		if data != nil {
			return buf, buf.WriteFloat32(0, data)
		}
		return buf, nil
	}
	ab, err := newBuffer(a, len(a))
	if err != nil {
		return res, err
	}
	bb, err := newBuffer(b, len(b))
	if err != nil {
		return res, err
	}
	cb, err := newBuffer(nil, g.M*g.N)
	if err != nil {
		return res, err
	}
	scratch, err := newBuffer(nil, max(g.SplitScratch(), 1))
	if err != nil {
		return res, err
	}

	rec, err := timedRecording(ctx, func(rec *vk.Recording) error {
		return g.Record(ctx, rec, vk.Whole(ab), vk.Whole(bb), vk.Whole(cb), vk.Range{}, vk.Whole(scratch))
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

	got := make([]float32, g.M*g.N)
	if err := cb.ReadFloat32(0, got); err != nil {
		return res, err
	}
	entries := checkedEntries(g, rng)
	for _, e := range entries {
		want := ref.GemmEntry(g.M, g.N, g.K, a, b, false, false, e[0], e[1])
		d := math.Abs(float64(got[e[0]*g.N+e[1]]) - want)
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		res.MaxError = max(res.MaxError, d)
	}
	res.Checked = len(entries)
	if tol := 4*float64(g.K)/(1<<23) + 1e-6; res.MaxError > tol {
		return res, fmt.Errorf("wrong result: max |error| %.3g exceeds %.3g", res.MaxError, tol)
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

// timedRecording records work between two timestamps, where the device
// has them.
func timedRecording(ctx *vk.Context, work func(*vk.Recording) error) (*vk.Recording, error) {
	rec, err := ctx.NewRecording()
	if err != nil {
		return nil, err
	}
	stamp := func() error {
		if !ctx.Info.Timestamps {
			return nil
		}
		_, err := rec.Timestamp()
		return err
	}
	err = stamp()
	if err == nil {
		err = work(rec)
	}
	if err == nil {
		err = stamp()
	}
	if err != nil {
		rec.Close()
		return nil, err
	}
	return rec, nil
}

// runTimes runs a timedRecording n times and returns each run's seconds:
// between its timestamps where the device has them, else on the wall clock.
func runTimes(ctx *vk.Context, rec *vk.Recording, n int) ([]float64, error) {
	times := make([]float64, n)
	for i := range times {
		start := time.Now()
		if err := rec.Run(); err != nil {
			return nil, err
		}
		times[i] = time.Since(start).Seconds()
		if ctx.Info.Timestamps {
			d, err := rec.Elapsed(0, 1)
			if err != nil {
				return nil, err
			}
			times[i] = d.Seconds()
		}
	}
	return times, nil
}

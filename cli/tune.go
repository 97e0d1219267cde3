package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/urfave/cli/v2"

	"vkcnn/nn"
	"vkcnn/nn/kernels"
	"vkcnn/vk"
)

func tuneCommand() *cli.Command {
	return &cli.Command{
		Name:  "tune",
		Usage: "measure every GEMM variant on each of a model's products and cache the fastest for this device",
		Description: "Each convolution pass and dense product of a training step is timed with every variant the\n" +
			"device can run; the winners are stored in the tuning cache ($VKCNN_TUNING, else vkcnn/tuning.json\n" +
			"in the user's cache folder) under the device's name and driver, where train, eval, predict\n" +
			"and bench find them. Every variant's output is checked against the first one's.",
		UsageText: "vkcnn tune [--model standard|small|FILE] [--batch-size N] [--reps R] [--json] [--device D]",
		Flags: []cli.Flag{
			modelFlag,
			&cli.IntFlag{Name: "batch-size", Usage: "the training batch size to tune for", DefaultText: "the preset's, else 64"},
			&cli.IntFlag{Name: "reps", Value: 3, Usage: "timed runs of each candidate after a checked one"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       tune,
	}
}

type tuneCandidate struct {
	Variant       string  `json:"variant"`
	MedianSeconds float64 `json:"median_s,omitempty"`
	GFLOPS        float64 `json:"gflops,omitempty"`
	Skipped       string  `json:"skipped,omitempty"`
}

type tuneProduct struct {
	Name       string          `json:"name"`
	Key        string          `json:"key"`
	Candidates []tuneCandidate `json:"candidates"`
	Best       string          `json:"best"`
	Default    string          `json:"default"`
}

type tuneResult struct {
	Device   string        `json:"device"`
	Driver   string        `json:"driver"`
	Model    string        `json:"model"`
	Batch    int           `json:"batch"`
	Products []tuneProduct `json:"products"`
	Cache    string        `json:"cache"`
}

// slowCutoff: a candidate whose checked run takes this many times the
// best so far is not timed further.
const slowCutoff = 3

func tune(c *cli.Context) (err error) {
	batch := c.Int("batch-size")
	if !c.IsSet("batch-size") {
		batch = 64
		if d, ok := nn.PresetTraining(c.String("model")); ok {
			batch = d.BatchSize
		}
	}
	reps := c.Int("reps")
	if batch <= 0 || reps <= 0 {
		return fmt.Errorf("--batch-size and --reps must be positive (got %d, %d)", batch, reps)
	}
	model, err := loadModel(c)
	if err != nil {
		return err
	}
	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	if !ctx.Info.Timestamps {
		return fmt.Errorf("tune: %w", vk.ErrNoTimestamps)
	}
	res := tuneResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Model: c.String("model"), Batch: batch}
	defaults := kernels.NewTuning(ctx.Info, nil)
	chosen := map[string]string{}
	names, products := nn.Products(model, batch)
	seen := map[string]bool{}
	for i, p := range products {
		if seen[p.Key()] {
			continue
		}
		seen[p.Key()] = true
		def, _ := defaults.Choose(p)
		tp, err := tuneOne(ctx, p, reps)
		if err != nil {
			return fmt.Errorf("tune %s (%s): %w", names[i], p.Key(), err)
		}
		tp.Name, tp.Default = names[i], def.Choice().String()
		chosen[tp.Key] = tp.Best
		res.Products = append(res.Products, tp)
		if !c.Bool("json") {
			printTuned(c, tp)
		}
	}
	if res.Cache, err = kernels.SaveTuning(ctx.Info, chosen); err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(c.App.Writer, "saved %d choices for %s (%s) to %s\n", len(chosen), res.Device, res.Driver, res.Cache)
	return nil
}

func printTuned(c *cli.Context, tp tuneProduct) {
	w := c.App.Writer
	fmt.Fprintf(w, "%s  [%s]\n", tp.Name, tp.Key)
	for _, cand := range tp.Candidates {
		mark := " "
		if cand.Variant == tp.Best {
			mark = "*"
		}
		if cand.Skipped != "" {
			fmt.Fprintf(w, "  %s %-13s %s\n", mark, cand.Variant, cand.Skipped)
			continue
		}
		fmt.Fprintf(w, "  %s %-13s %12s %8.1f GFLOPS\n", mark, cand.Variant, seconds(cand.MedianSeconds), cand.GFLOPS)
	}
}

// tuneOne times every usable variant on p with random operands and
// returns them with the fastest. Each candidate's output must match the
// first's within the kernel tests' tolerance.
func tuneOne(ctx *vk.Context, p kernels.Product, reps int) (tp tuneProduct, err error) {
	tp.Key = p.Key()
	var choices []kernels.Choice
	for _, v := range kernels.Candidates(ctx.Info) {
		for _, split := range p.Splits(ctx.Info, v) {
			choices = append(choices, kernels.Choice{Variant: v, Split: split})
		}
	}
	// Arguments large enough for every candidate (a split's scratch grows
	// with it).
	sizes := p.ArgFloats()
	for _, ch := range choices {
		for i, n := range p.With(ch).ArgFloats() {
			sizes[i] = max(sizes[i], n)
		}
	}
	args := make([]vk.Range, len(sizes))
	rng := rand.New(rand.NewPCG(7, 8))
	for i, n := range sizes {
		b, err := ctx.NewBuffer(4 * int64(n))
		if err != nil {
			return tp, err
		}
		defer b.Close()
		data := make([]float32, n)
		for j := range data {
			data[j] = rng.Float32()*2 - 1
		}
		if err := b.WriteFloat32(0, data); err != nil {
			return tp, err
		}
		args[i] = vk.Whole(b)
	}
	out := args[len(args)-1]
	var want []float32
	best := math.Inf(1)
	for _, ch := range choices {
		cand := tuneCandidate{Variant: ch.String()}
		times, got, err := timeProduct(ctx, p.With(ch), args, out, reps, best)
		skipped := len(times) == 0
		if err != nil {
			return tp, fmt.Errorf("%s: %w", ch, err)
		}
		if want == nil {
			want = got
		} else if d, tol := maxDiff(got, want), 1e-4*maxAbs(want)+1e-5; d > tol {
			return tp, fmt.Errorf("%s differs from %s by %.3g (tolerance %.3g)", ch, tp.Candidates[0].Variant, d, tol)
		}
		if skipped {
			cand.Skipped = fmt.Sprintf("skipped: its checked run took over %dx the best", slowCutoff)
		} else {
			slices.Sort(times)
			cand.MedianSeconds = times[len(times)/2]
			cand.GFLOPS = p.FLOPs() / cand.MedianSeconds / 1e9
			if cand.MedianSeconds < best {
				best, tp.Best = cand.MedianSeconds, cand.Variant
			}
		}
		tp.Candidates = append(tp.Candidates, cand)
	}
	if tp.Best == "" {
		return tp, errors.New("no variant could be timed")
	}
	return tp, nil
}

// timeProduct runs p twice (returning its output) and then, unless the
// second run was over slowCutoff times best, reps times more, timed by
// timestamps; no times means it was too slow.
func timeProduct(ctx *vk.Context, p kernels.Product, args []vk.Range, out vk.Range, reps int, best float64) (times []float64, got []float32, err error) {
	rec, err := timedRecording(ctx, func(rec *vk.Recording) error { return p.Record(ctx, rec, args) })
	if err != nil {
		return nil, nil, err
	}
	defer rec.Close()
	// Lavapipe compiles a pipeline at its first dispatch: a warm-up run
	// keeps compile time out of the check against the best.
	if err := rec.Run(); err != nil {
		return nil, nil, err
	}
	first, err := runTimes(ctx, rec, 1)
	if err != nil {
		return nil, nil, err
	}
	got = make([]float32, p.ArgFloats()[len(args)-1])
	if err := out.Buf.ReadFloat32(0, got); err != nil {
		return nil, nil, err
	}
	if first[0] > slowCutoff*best {
		return nil, got, nil
	}
	times, err = runTimes(ctx, rec, reps)
	return times, got, err
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func maxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

package cli

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/cli/internal/measure"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

func tuneCommand() *cli.Command {
	return &cli.Command{
		Name:  "tune",
		Usage: "measure every GEMM variant (and split of k) on each of a model's products and cache the fastest for this device",
		Description: "Each convolution pass and dense product of a training step is timed with every variant the\n" +
			"device can run, and each dense product with its sum over k split several ways by the warp\n" +
			"variants; the winners are stored in the tuning cache ($VKCNN_TUNING, else vkcnn/tuning.json\n" +
			"in the user's cache folder) under the device's name, driver and --precision, where train,\n" +
			"eval, predict and bench find them. Every candidate's output is checked against the first one's. A run\n" +
			"records the kernels it trains with (kernels.json), and --resume runs those again.",
		UsageText: "vkcnn tune [--model standard|small|FILE] [--batch-size N] [--reps R] [--precision P] [--json | --compare FILE] [--device D]",
		Flags: []cli.Flag{
			modelFlag,
			precisionFlag,
			&cli.IntFlag{Name: "batch-size", Usage: "the training batch size to tune for", DefaultText: "the preset's, else 64"},
			&cli.IntFlag{Name: "reps", Value: 3, Usage: "timed runs of each candidate, after a checked one and runs until its rate settles"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
			&cli.StringFlag{Name: "compare", Usage: "print only where this tune chose otherwise than the tuning cache `FILE` (a copy of an earlier one), with those products' timings"},
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       tune,
	}
}

// tuneProduct is one product's candidates, with its name in the model and
// the kernel it runs without tuning.
type tuneProduct struct {
	Name string `json:"name"`
	measure.Tuned
	Default string `json:"default"`
}

type tuneResult struct {
	Device    string        `json:"device"`
	Driver    string        `json:"driver"`
	Precision string        `json:"precision"`
	Model     string        `json:"model"`
	Batch     int           `json:"batch"`
	Products  []tuneProduct `json:"products"`
	Refused   []string      `json:"refused_variants,omitempty"` // why the device runs none of them
	Cache     string        `json:"cache"`
}

func tune(c *cli.Context) (err error) {
	batch := c.Int("batch-size")
	if !c.IsSet("batch-size") {
		batch = vkcnn.DefaultBatchSize
		if d, ok := nn.PresetTraining(c.String("model")); ok {
			batch = d.BatchSize
		}
	}
	prec, err := flagPrecision(c)
	if err != nil {
		return err
	}
	if c.IsSet("json") && c.IsSet("compare") {
		return fmt.Errorf("--json and --compare: give one")
	}
	model, ctx, err := openBench(c, batch, c.Int("reps"))
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	if err := checkPrecision(ctx.Info, prec); err != nil {
		return err
	}
	if !ctx.Info.Timestamps {
		return fmt.Errorf("tune: %w", vk.ErrNoTimestamps)
	}
	var earlier map[string]string
	if file := c.String("compare"); file != "" {
		if earlier, err = kernels.CachedChoices(file, ctx.Info, prec); err != nil {
			return err
		}
		if len(earlier) == 0 {
			return fmt.Errorf("--compare: %s holds no tuning of %s (%s) at %s", file, ctx.Info.Name, ctx.Info.DriverInfo, prec)
		}
	}
	res := tuneResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Precision: prec.String(), Model: c.String("model"), Batch: batch}
	defaults := kernels.NewTuning(ctx.Info, prec, nil)
	res.Refused = defaults.Refused()
	if !c.Bool("json") {
		printRefused(c.App.Writer, res.Refused)
	}
	chosen := map[string]string{}
	names, products := nn.Products(model, batch)
	seen := map[string]bool{}
	for i, p := range products {
		if seen[p.Key()] {
			continue
		}
		seen[p.Key()] = true
		def, _ := defaults.Choose(p)
		tuned, err := measure.Tune(ctx, p, prec, c.Int("reps"))
		if err != nil {
			return fmt.Errorf("tune %s (%s): %w; the tuning cache is as it was", names[i], p.Key(), err)
		}
		tp := tuneProduct{Name: names[i], Tuned: tuned, Default: def.Choice().String()}
		chosen[tp.Key] = tp.Best
		res.Products = append(res.Products, tp)
		if !c.Bool("json") && !c.IsSet("compare") {
			printTuned(c.App.Writer, tp)
		}
	}
	if res.Cache, err = kernels.SaveTuning(ctx.Info, prec, chosen); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	if c.IsSet("compare") {
		compareTuning(c.App.Writer, c.String("compare"), earlier, res.Products)
	}
	fmt.Fprintf(c.App.Writer, "saved %d choices for %s (%s) at %s to %s\n", len(chosen), res.Device, res.Driver, prec, res.Cache)
	return nil
}

// compareTuning prints where this tune's choices differ from the earlier
// ones of file, with this tune's timings of those products: a choice made
// on a settled clock is made again.
func compareTuning(w io.Writer, file string, earlier map[string]string, tuned []tuneProduct) {
	var differ []tuneProduct
	for _, tp := range tuned {
		if earlier[tp.Key] != tp.Best {
			differ = append(differ, tp)
		}
	}
	if len(differ) == 0 {
		fmt.Fprintf(w, "the same choices as %s for all %d products\n", file, len(tuned))
		return
	}
	fmt.Fprintf(w, "chose otherwise than %s for %d of %d products:\n", file, len(differ), len(tuned))
	for _, tp := range differ {
		was := earlier[tp.Key]
		if was == "" {
			was = "nothing"
		}
		fmt.Fprintf(w, "%s chose %s, this tune %s:\n", file, was, tp.Best)
		printTuned(w, tp)
	}
}

func printTuned(w io.Writer, tp tuneProduct) {
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
		fmt.Fprintf(w, "  %s %-13s %12s %8.1f GFLOPS  (warm-up: %s)\n", mark, cand.Variant, seconds(cand.MedianSeconds), cand.GFLOPS, cand.Warmup)
	}
}

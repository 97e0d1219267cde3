package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/cli/internal/measure"
)

func benchAllCommand() *cli.Command {
	return &cli.Command{
		Name:      "all",
		Usage:     "time every part of a training step of a model at its real shapes, the whole step, the host's share and pipeline creation",
		UsageText: "vkcnn bench all [--model standard|small|FILE] [--batch-size N] [--reps R] [--precision P] [--json] [--device D]",
		Flags: []cli.Flag{
			modelFlag,
			precisionFlag,
			&cli.IntFlag{Name: "batch-size", Value: 64, Usage: "samples a step"},
			&cli.IntFlag{Name: "reps", Value: 3, Usage: "timed steps, after training steps until their rate settles"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       benchAll,
	}
}

func benchAll(c *cli.Context) (err error) {
	batch, reps := c.Int("batch-size"), c.Int("reps")
	prec, err := flagPrecision(c)
	if err != nil {
		return err
	}
	model, ctx, err := openBench(c, batch, reps)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	tuning, err := loadTuning(c, ctx, prec)
	if err != nil {
		return err
	}
	res, err := measure.Step(ctx, model, tuning, batch, reps)
	if err != nil {
		return fmt.Errorf("time a training step of %s at batch size %d: %w", c.String("model"), batch, err)
	}
	res.Model, res.Precision = c.String("model"), prec.String()
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	printStep(c.App.Writer, res, measure.CopyFloats(model))
	return nil
}

// printRefused says which kernel variants the device does not run, and why.
func printRefused(w io.Writer, refused []string) {
	for _, why := range refused {
		fmt.Fprintf(w, "not run on this device: %s\n", why)
	}
}

// printStep prints what bench all measured: the kernel of each product,
// the parts of a training step, and the whole step.
func printStep(w io.Writer, res measure.StepResult, copyFloats int) {
	fmt.Fprintf(w, "%s, batch %d, %s, on %s (%s)\n", res.Model, res.Batch, res.Precision, res.Device, res.Driver)
	fmt.Fprintf(w, "%-28s %-24s %s\n", "product", "variant", "shape")
	var fp32 []string
	for _, k := range res.Kernels {
		how := "default"
		if k.Tuned {
			how = "tuned"
		}
		fmt.Fprintf(w, "%-28s %-24s %s (%s)\n", k.Name, k.Variant, k.Key, how)
		if k.FP32Because != "" {
			fp32 = append(fp32, fmt.Sprintf("%s (%s)", k.Name, k.FP32Because))
		}
	}
	if len(fp32) > 0 {
		fmt.Fprintf(w, "in fp32, as no matrix variant runs them: %s\n", strings.Join(fp32, "; "))
	}
	printRefused(w, res.Refused)
	fmt.Fprintf(w, "\ntraining steps to warm up: %s\n", res.Warmup)
	fmt.Fprintf(w, "%-28s %12s %7s %s\n", "part of a training step", "device time", "share", "rate")
	for _, p := range res.Parts {
		rate := ""
		if p.GFLOPS > 0 {
			rate = fmt.Sprintf("%.1f GFLOPS", p.GFLOPS)
		} else if p.GBPerS > 0 {
			rate = fmt.Sprintf("%.1f GB/s", p.GBPerS)
		}
		fmt.Fprintf(w, "%-28s %12s %6.1f%% %s\n", p.Label, seconds(p.Seconds), 100*p.Share, rate)
	}
	fmt.Fprintf(w, "%-28s %12s (parts add up to %s)\n", "step", seconds(res.StepSeconds), seconds(res.PartsSeconds))
	fmt.Fprintf(w, "copy kernel: %.2f GB/s (read and write, %d floats)\n", res.CopyGBPerS, copyFloats)
	fmt.Fprintf(w, "training: %s a step on the wall clock (host overhead %.1f%%: %s a step), %.1f images/s; inference: %.1f images/s\n",
		seconds(res.WallStepSeconds), 100*res.HostOverhead, seconds(res.HostOverhead*res.WallStepSeconds), res.TrainImagesPerS, res.InferImagesPerS)
	fmt.Fprintf(w, "device memory: %.1f MiB\n", float64(res.DeviceMemoryByte)/(1<<20))
	cache := "no pipeline cache"
	if res.PipelineCache != "" {
		cache = fmt.Sprintf("pipeline cache %s, started from %d bytes", res.PipelineCache, res.PipelineCacheIn)
	}
	fmt.Fprintf(w, "pipelines: %d built in %s (%s)\n", res.Pipelines, seconds(res.PipelineSeconds), cache)
}

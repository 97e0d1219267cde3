package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/urfave/cli/v2"

	"vkcnn/nn"
	"vkcnn/nn/kernels"
)

func benchAllCommand() *cli.Command {
	return &cli.Command{
		Name:      "all",
		Usage:     "time every part of a training step of a model at its real shapes, and the whole step",
		UsageText: "vkcnn bench all [--model standard|small|FILE] [--batch-size N] [--reps R] [--json] [--device D]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Value: "standard", Usage: "standard, small, or a model.json file"},
			&cli.IntFlag{Name: "batch-size", Value: 64, Usage: "samples a step"},
			&cli.IntFlag{Name: "reps", Value: 3, Usage: "timed steps after a warm-up step"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       benchAll,
	}
}

type benchPart struct {
	Label   string  `json:"label"`
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"`
}

type benchAllResult struct {
	Device           string      `json:"device"`
	Model            string      `json:"model"`
	Batch            int         `json:"batch"`
	GemmVariant      string      `json:"gemm_variant"`
	Parts            []benchPart `json:"parts"`
	StepSeconds      float64     `json:"step_seconds"`
	PartsSeconds     float64     `json:"parts_seconds"`
	WallStepSeconds  float64     `json:"wall_step_seconds"`
	TrainImagesPerS  float64     `json:"train_images_per_second"`
	InferImagesPerS  float64     `json:"inference_images_per_second"`
	DeviceMemoryByte int64       `json:"device_memory_bytes"`
}

func benchAll(c *cli.Context) (err error) {
	batch, reps := c.Int("batch-size"), c.Int("reps")
	if batch <= 0 || reps <= 0 {
		return fmt.Errorf("--batch-size and --reps must be positive (got %d, %d)", batch, reps)
	}
	spec, err := nn.LoadSpec(c.String("model"))
	if err != nil {
		return err
	}
	model, err := nn.Build(spec)
	if err != nil {
		return err
	}
	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	variant := kernels.DefaultGemmVariant(ctx.Info)
	net, err := nn.NewNet(ctx, model, batch, variant, model.Init(1))
	if err != nil {
		return err
	}
	defer net.Close()
	// Random digits: the timing does not depend on the data.
	rng := rand.New(rand.NewPCG(1, 2))
	images, labels := make([]byte, batch*784), make([]uint8, batch)
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = uint8(rng.IntN(10))
	}
	set, err := net.Upload(images, labels)
	if err != nil {
		return err
	}
	indices := make([]int, batch)
	for i := range indices {
		indices[i] = i
	}
	step := func(mode nn.Mode, t uint32) error {
		return net.Step(set, mode, 0, nn.StepValues{Counter: t, Seed: 1, LR: nn.AdamLR(5e-4, t), Indices: indices})
	}
	// Warm up: the first run of each pipeline compiles it on some drivers.
	if err := errors.Join(step(nn.ModeTrain, 1), step(nn.ModeEval, 1)); err != nil {
		return err
	}
	res := benchAllResult{Device: ctx.Info.Name, Model: c.String("model"), Batch: batch, GemmVariant: variant.Name, DeviceMemoryByte: net.DeviceBytes()}
	parts, total, err := net.Profile(set, nn.ModeTrain, nn.StepValues{Counter: 2, Seed: 1, LR: nn.AdamLR(5e-4, 2), Indices: indices})
	if err != nil {
		return err
	}
	res.StepSeconds = total.Seconds()
	for _, p := range parts {
		res.Parts = append(res.Parts, benchPart{Label: p.Label, Seconds: p.Time.Seconds(), Share: p.Time.Seconds() / total.Seconds()})
		res.PartsSeconds += p.Time.Seconds()
	}
	timeSteps := func(mode nn.Mode) (float64, error) {
		start := time.Now()
		for r := range reps {
			if err := step(mode, uint32(3+r)); err != nil {
				return 0, err
			}
		}
		return time.Since(start).Seconds() / float64(reps), nil
	}
	if res.WallStepSeconds, err = timeSteps(nn.ModeTrain); err != nil {
		return err
	}
	infer, err := timeSteps(nn.ModeEval)
	if err != nil {
		return err
	}
	res.TrainImagesPerS = float64(batch) / res.WallStepSeconds
	res.InferImagesPerS = float64(batch) / infer

	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s, batch %d, on %s (GEMM variant %s)\n", res.Model, batch, res.Device, variant.Name)
	fmt.Fprintf(w, "%-28s %12s %7s\n", "part of a training step", "device time", "share")
	for _, p := range res.Parts {
		fmt.Fprintf(w, "%-28s %12s %6.1f%%\n", p.Label, seconds(p.Seconds), 100*p.Share)
	}
	fmt.Fprintf(w, "%-28s %12s (parts add up to %s)\n", "step", seconds(res.StepSeconds), seconds(res.PartsSeconds))
	fmt.Fprintf(w, "training: %s a step on the wall clock, %.1f images/s; inference: %.1f images/s\n", seconds(res.WallStepSeconds), res.TrainImagesPerS, res.InferImagesPerS)
	fmt.Fprintf(w, "device memory: %.1f MiB\n", float64(res.DeviceMemoryByte)/(1<<20))
	return nil
}

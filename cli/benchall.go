package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"vkcnn/augment"
	"vkcnn/nn"
	"vkcnn/nn/kernels"
	"vkcnn/vk"
)

func benchAllCommand() *cli.Command {
	return &cli.Command{
		Name:      "all",
		Usage:     "time every part of a training step of a model at its real shapes, and the whole step",
		UsageText: "vkcnn bench all [--model standard|small|FILE] [--batch-size N] [--reps R] [--json] [--device D]",
		Flags: []cli.Flag{
			modelFlag,
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
	GFLOPS  float64 `json:"gflops,omitempty"`
	GBPerS  float64 `json:"gb_per_s,omitempty"`
}

// benchKernel is the variant that runs one product, and why.
type benchKernel struct {
	Name    string `json:"name"`
	Key     string `json:"key"`
	Variant string `json:"variant"`
	Tuned   bool   `json:"tuned"`
}

type benchAllResult struct {
	Device           string        `json:"device"`
	Driver           string        `json:"driver"`
	Model            string        `json:"model"`
	Batch            int           `json:"batch"`
	Kernels          []benchKernel `json:"kernels"`
	Parts            []benchPart   `json:"parts"`
	StepSeconds      float64       `json:"step_seconds"`
	PartsSeconds     float64       `json:"parts_seconds"`
	WallStepSeconds  float64       `json:"wall_step_seconds"`
	HostOverhead     float64       `json:"host_overhead"`
	CopyGBPerS       float64       `json:"copy_gb_per_s"`
	TrainImagesPerS  float64       `json:"train_images_per_second"`
	InferImagesPerS  float64       `json:"inference_images_per_second"`
	DeviceMemoryByte int64         `json:"device_memory_bytes"`
	Pipelines        int           `json:"pipelines"`
	PipelineSeconds  float64       `json:"pipeline_seconds"`
	PipelineCache    string        `json:"pipeline_cache,omitempty"`
	PipelineCacheIn  int           `json:"pipeline_cache_loaded_bytes"`
}

func benchAll(c *cli.Context) (err error) {
	batch, reps := c.Int("batch-size"), c.Int("reps")
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
	tuning := loadTuning(c, ctx)
	net, err := nn.NewNet(ctx, model, batch, tuning, model.Init(1))
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
		return net.Step(set, mode, augment.Sampling{}, nn.Feed{Counter: t, Seed: 1, LR: nn.AdamLR(5e-4, t), Indices: indices})
	}
	// Warm up: the first run of each pipeline compiles it on some drivers.
	if err := errors.Join(step(nn.ModeTrain, 1), step(nn.ModeEval, 1)); err != nil {
		return err
	}
	res := benchAllResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Model: c.String("model"), Batch: batch, DeviceMemoryByte: net.DeviceBytes()}
	names, products := nn.Products(model, batch)
	for i, p := range products {
		chosen, tuned := tuning.Choose(p)
		res.Kernels = append(res.Kernels, benchKernel{Name: names[i], Key: p.Key(), Variant: chosen.Choice().String(), Tuned: tuned})
	}
	parts, total, err := net.Profile(set, nn.ModeTrain, nn.Feed{Counter: 2, Seed: 1, LR: nn.AdamLR(5e-4, 2), Indices: indices})
	if err != nil {
		return err
	}
	res.StepSeconds = total.Seconds()
	for _, p := range parts {
		part := benchPart{Label: p.Label, Seconds: p.Time.Seconds(), Share: p.Time.Seconds() / total.Seconds()}
		if p.FLOPs > 0 {
			part.GFLOPS = p.FLOPs / part.Seconds / 1e9
		} else if p.Bytes > 0 {
			part.GBPerS = p.Bytes / part.Seconds / 1e9
		}
		res.Parts = append(res.Parts, part)
		res.PartsSeconds += p.Time.Seconds()
	}
	copyFloats := min(model.ParamFloats, copyMaxFloats)
	if res.CopyGBPerS, err = copyBandwidth(ctx, copyFloats); err != nil {
		return err
	}
	// Wall time a step, and the device's share of it from the timestamps
	// around each step.
	timeSteps := func(mode nn.Mode) (wall, device float64, err error) {
		for r := range reps {
			start := time.Now()
			if err := step(mode, uint32(3+r)); err != nil {
				return 0, 0, err
			}
			wall += time.Since(start).Seconds()
			d, err := net.StepDeviceTime()
			if err != nil {
				return 0, 0, err
			}
			device += d.Seconds()
		}
		return wall / float64(reps), device / float64(reps), nil
	}
	trainDevice := 0.0
	if res.WallStepSeconds, trainDevice, err = timeSteps(nn.ModeTrain); err != nil {
		return err
	}
	infer, _, err := timeSteps(nn.ModeEval)
	if err != nil {
		return err
	}
	// What the wall clock adds to the device's step: writing the step's
	// values, submission, waiting and readback.
	res.HostOverhead = max(0, res.WallStepSeconds-trainDevice) / res.WallStepSeconds
	res.TrainImagesPerS = float64(batch) / res.WallStepSeconds
	res.InferImagesPerS = float64(batch) / infer
	var took time.Duration
	res.Pipelines, took, res.PipelineCache, res.PipelineCacheIn = ctx.PipelineStats()
	res.PipelineSeconds = took.Seconds()

	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%s, batch %d, on %s (%s)\n", res.Model, batch, res.Device, res.Driver)
	fmt.Fprintf(w, "%-28s %-17s %s\n", "product", "variant", "shape")
	for _, k := range res.Kernels {
		how := "default"
		if k.Tuned {
			how = "tuned"
		}
		fmt.Fprintf(w, "%-28s %-17s %s (%s)\n", k.Name, k.Variant, k.Key, how)
	}
	fmt.Fprintf(w, "\n%-28s %12s %7s %s\n", "part of a training step", "device time", "share", "rate")
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
	return nil
}

// copyMaxFloats bounds the copy measurement to one binding on every device
// (maxStorageBufferRange is at least 128 MiB where it matters).
const copyMaxFloats = 16 << 20

// copyBandwidth times the copy kernel over n floats (the size of the
// parameter vector, which Adam streams, up to copyMaxFloats) and returns
// the bytes read and written per second, the median of 5 runs.
func copyBandwidth(ctx *vk.Context, n int) (float64, error) {
	src, err := ctx.NewBuffer(4 * int64(n))
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := ctx.NewBuffer(4 * int64(n))
	if err != nil {
		return 0, err
	}
	defer dst.Close()
	rec, err := timedRecording(ctx, func(rec *vk.Recording) error {
		return kernels.Copy(ctx, rec, vk.Whole(src), vk.Whole(dst), n)
	})
	if err != nil {
		return 0, err
	}
	defer rec.Close()
	times, err := runTimes(ctx, rec, 6)
	if err != nil {
		return 0, err
	}
	times = times[1:] // the first run warms the pages up
	slices.Sort(times)
	return 8 * float64(n) / times[len(times)/2] / 1e9, nil
}

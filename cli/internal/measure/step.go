package measure

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// Part is one part of a training step: its device time and share of the
// step, and its rate where it has FLOPs or bytes.
type Part struct {
	Label   string  `json:"label"`
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"`
	GFLOPS  float64 `json:"gflops,omitempty"`
	GBPerS  float64 `json:"gb_per_s,omitempty"`
}

// Kernel is the variant that runs one product, and why; at bf16 or
// bf16x3, why a product runs at fp32 (FP32Because).
type Kernel struct {
	Name        string `json:"name"`
	Key         string `json:"key"`
	Variant     string `json:"variant"`
	Tuned       bool   `json:"tuned"`
	FP32Because string `json:"fp32_because,omitempty"`
}

// StepResult is what Step measures. Model is the caller's name for the
// model.
type StepResult struct {
	Device           string   `json:"device"`
	Driver           string   `json:"driver"`
	Model            string   `json:"model"`
	Precision        string   `json:"precision"`
	Batch            int      `json:"batch"`
	Kernels          []Kernel `json:"kernels"`
	Refused          []string `json:"refused_variants,omitempty"` // why the device runs none of them
	Warmup           Warmup   `json:"warmup"`
	Parts            []Part   `json:"parts"`
	StepSeconds      float64  `json:"step_seconds"`
	PartsSeconds     float64  `json:"parts_seconds"`
	WallStepSeconds  float64  `json:"wall_step_seconds"`
	HostOverhead     float64  `json:"host_overhead"`
	CopyGBPerS       float64  `json:"copy_gb_per_s"`
	TrainImagesPerS  float64  `json:"train_images_per_second"`
	InferImagesPerS  float64  `json:"inference_images_per_second"`
	DeviceMemoryByte int64    `json:"device_memory_bytes"`
	Pipelines        int      `json:"pipelines"`
	PipelineSeconds  float64  `json:"pipeline_seconds"`
	PipelineCache    string   `json:"pipeline_cache,omitempty"`
	PipelineCacheIn  int      `json:"pipeline_cache_loaded_bytes"`
}

// Step times model's training step at batch on random images (the timing
// does not depend on the data) with tuning's kernels: each part by
// timestamps, the whole step and inference on the wall clock over reps
// steps each, after training steps until their rate settles; and the copy
// kernel's bandwidth over CopyFloats(model) floats.
func Step(ctx *vk.Context, model *nn.Model, tuning kernels.Tuning, batch, reps int) (res StepResult, err error) {
	net, err := nn.NewNet(ctx, model, batch, tuning, model.Init(1), batch) // a batch of random images
	if err != nil {
		return res, err
	}
	defer net.Close()
	s, err := newStepper(net)
	if err != nil {
		return res, err
	}
	// The first run of each pipeline compiles it on some drivers; then
	// training steps until their rate settles.
	if err := errors.Join(s.step(nn.ModeTrain, 1), s.step(nn.ModeEval, 1)); err != nil {
		return res, err
	}
	res = StepResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Batch: batch, DeviceMemoryByte: net.DeviceBytes(),
		Kernels: stepKernels(model, tuning, batch), Refused: tuning.Refused()}
	counter := uint32(1)
	res.Warmup, err = warmUp(func() (float64, error) {
		start := time.Now()
		counter++
		err := s.step(nn.ModeTrain, counter)
		return time.Since(start).Seconds(), err
	}, warmupLimitOn(ctx.Info))
	if err != nil {
		return res, err
	}
	if err := s.profile(&res); err != nil {
		return res, err
	}
	if res.CopyGBPerS, err = copyBandwidth(ctx, CopyFloats(model)); err != nil {
		return res, err
	}
	trainDevice := 0.0
	if res.WallStepSeconds, trainDevice, err = s.time(nn.ModeTrain, reps); err != nil {
		return res, err
	}
	infer, _, err := s.time(nn.ModeEval, reps)
	if err != nil {
		return res, err
	}
	// What the wall clock adds to the device's step: writing the step's
	// values, submission, waiting and readback.
	res.HostOverhead = max(0, res.WallStepSeconds-trainDevice) / res.WallStepSeconds
	res.TrainImagesPerS = float64(batch) / res.WallStepSeconds
	res.InferImagesPerS = float64(batch) / infer
	var took time.Duration
	res.Pipelines, took, res.PipelineCache, res.PipelineCacheIn = ctx.PipelineStats()
	res.PipelineSeconds = took.Seconds()
	return res, nil
}

// stepKernels says which kernel runs each of the model's products.
func stepKernels(model *nn.Model, tuning kernels.Tuning, batch int) []Kernel {
	var out []Kernel
	names, products := nn.Products(model, batch)
	for i, p := range products {
		chosen, tuned := tuning.Choose(p)
		k := Kernel{Name: names[i], Key: p.Key(), Variant: chosen.Choice().String(), Tuned: tuned}
		if err := tuning.Fallback(p); err != nil {
			k.FP32Because = err.Error()
		}
		out = append(out, k)
	}
	return out
}

// stepper runs steps of a net on a batch of random images.
type stepper struct {
	net     *nn.Net
	set     *nn.DeviceSet
	indices []int
}

func newStepper(net *nn.Net) (*stepper, error) {
	batch := net.Batch
	rng := rand.New(rand.NewPCG(1, 2))
	images, labels := make([]byte, batch*net.Model.Input().Size()), make([]uint8, batch)
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = uint8(rng.IntN(net.Model.Classes))
	}
	set, err := net.Upload(images, labels)
	if err != nil {
		return nil, err
	}
	indices := make([]int, batch)
	for i := range indices {
		indices[i] = i
	}
	return &stepper{net: net, set: set, indices: indices}, nil
}

// values are the step values of step t.
func (s *stepper) values(t uint32) nn.Feed {
	return nn.Feed{Counter: t, Seed: 1, LR: nn.AdamLR(5e-4, t), Indices: s.indices}
}

func (s *stepper) step(mode nn.Mode, t uint32) error {
	return s.net.Step(s.set, mode, augment.Sampling{}, s.values(t))
}

// profile fills in the device time of each part of a training step.
func (s *stepper) profile(res *StepResult) error {
	parts, total, err := s.net.Profile(s.set, nn.ModeTrain, s.values(2))
	if err != nil {
		return err
	}
	res.StepSeconds = total.Seconds()
	for _, p := range parts {
		part := Part{Label: p.Label, Seconds: p.Time.Seconds(), Share: p.Time.Seconds() / total.Seconds()}
		if p.FLOPs > 0 {
			part.GFLOPS = p.FLOPs / part.Seconds / 1e9
		} else if p.Bytes > 0 {
			part.GBPerS = p.Bytes / part.Seconds / 1e9
		}
		res.Parts = append(res.Parts, part)
		res.PartsSeconds += p.Time.Seconds()
	}
	return nil
}

// time is the mean wall time of a step of mode over reps steps, and the
// device's share of it from the timestamps around each step.
func (s *stepper) time(mode nn.Mode, reps int) (wall, device float64, err error) {
	for r := range reps {
		start := time.Now()
		if err := s.step(mode, uint32(3+r)); err != nil {
			return 0, 0, err
		}
		wall += time.Since(start).Seconds()
		d, err := s.net.StepDeviceTime()
		if err != nil {
			return 0, 0, err
		}
		device += d.Seconds()
	}
	return wall / float64(reps), device / float64(reps), nil
}

// copyMaxFloats bounds the copy measurement to one binding on every device
// (maxStorageBufferRange is at least 128 MiB where it matters).
const copyMaxFloats = 16 << 20

// CopyFloats is how many floats Step copies to measure the copy
// bandwidth: the size of the parameter vector, which Adam streams, up to
// copyMaxFloats.
func CopyFloats(model *nn.Model) int { return min(model.ParamFloats, copyMaxFloats) }

// copyBandwidth times the copy kernel over n floats and returns the bytes
// read and written per second, the median of 5 runs.
func copyBandwidth(ctx *vk.Context, n int) (float64, error) {
	var bufs vk.Buffers
	defer bufs.Close()
	src, err := bufs.New(ctx, 4*int64(n))
	if err != nil {
		return 0, err
	}
	dst, err := bufs.New(ctx, 4*int64(n))
	if err != nil {
		return 0, err
	}
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
	// The first run warms the pages up.
	return 8 * float64(n) / median(times[1:]) / 1e9, nil
}

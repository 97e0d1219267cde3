package nn

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestMemoryCheckCountsTheData: the data sets take their share of the
// device's memory, at the size of the model's input.
func TestMemoryCheckCountsTheData(t *testing.T) {
	ctx := vktest.Open(t)
	spec := ModelSpec{Format: SpecFormat, Name: "colour", Input: [3]int{20, 12, 3}, Layers: []LayerSpec{
		{Type: "flatten"}, {Type: "dense", Units: 4, Activation: "softmax"}}}
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	tuning := kernels.NewTuning(ctx.Info, kernels.FP32, nil)
	const samples = 1024
	data := DataBytes(m.Input(), samples)
	if want := int64(samples*20*12*3 + samples); data != want {
		t.Fatalf("DataBytes: %d, want %d", data, want)
	}
	ctx.Info.DeviceLocalBytes = uint64(EstimateBytes(m, 8, tuning, Optimizer{}) + data)
	net, err := NewNet(ctx, m, 8, tuning, m.Init(1), samples)
	if err != nil {
		t.Fatalf("what fits exactly: %v", err)
	}
	net.Close()
	net, err = NewNet(ctx, m, 9, tuning, m.Init(1), samples)
	if err == nil {
		net.Close()
	}
	want := "colour at batch size 9 needs about"
	if !errors.Is(err, vk.ErrOutOfDeviceMemory) || !strings.HasPrefix(err.Error(), want) ||
		!strings.Contains(err.Error(), "with its data (1,024 images of 20x12x3") || !strings.HasSuffix(err.Error(), "the largest batch size that fits is 8") {
		t.Fatalf("got %v, want %q ... with its data ... the largest batch size that fits is 8", err, want)
	}
	net, err = NewNet(ctx, m, 9, tuning, m.Init(1), 0)
	if err != nil {
		t.Fatalf("without data: %v", err)
	}
	net.Close()
}

// TestMemoryEstimateCountsTheOptimizer: the weight-decay mask and the
// gradient clipping's scratch count in the estimate, which equals what a
// network training with them allocates, and an optimizer whose buffers do
// not fit beside the network and its data is refused as out of memory.
func TestMemoryEstimateCountsTheOptimizer(t *testing.T) {
	ctx := vktest.Open(t)
	clipping := Optimizer{Name: OptSGD, Momentum: 0.9, WeightDecay: 5e-4, ClipNorm: 1}
	for _, o := range []Optimizer{clipping, {Name: OptAdamW, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}, {Name: OptSGD, ClipNorm: 2}} {
		net := newTestNet(t, ctx, tinySpec(), 5, 1)
		if err := net.SetOptimizer(o); err != nil {
			t.Fatal(err)
		}
		if got, want := EstimateBytes(net.Model, 5, net.Tuning, o), net.DeviceBytes(); got != want {
			t.Errorf("%+v: estimate %d bytes, allocated %d", o, got, want)
		}
	}
	m, err := Build(tinySpec())
	if err != nil {
		t.Fatal(err)
	}
	tuning := kernels.NewTuning(ctx.Info, kernels.FP32, nil)
	const samples = 100
	data := DataBytes(m.Input(), samples)
	ctx.Info.DeviceLocalBytes = uint64(EstimateBytes(m, 8, tuning, Optimizer{}) + data)
	net, err := NewNet(ctx, m, 8, tuning, m.Init(1), samples)
	if err != nil {
		t.Fatalf("what fits exactly: %v", err)
	}
	defer net.Close()
	err = net.SetOptimizer(clipping)
	if want := "at batch size 8 training with sgd needs about"; !errors.Is(err, vk.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "with its data (100 images") {
		t.Fatalf("got %v, want %q ... with its data", err, want)
	}
	ctx.Info.DeviceLocalBytes = uint64(EstimateBytes(m, 8, tuning, clipping) + data)
	if err := net.SetOptimizer(clipping); err != nil {
		t.Fatalf("with room for the optimizer's buffers: %v", err)
	}
}

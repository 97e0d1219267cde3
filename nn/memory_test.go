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
	ctx.Info.DeviceLocalBytes = uint64(EstimateBytes(m, 8, tuning) + data)
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

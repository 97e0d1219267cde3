package nn

import (
	"strings"
	"testing"

	"vkcnn/nn/kernels"
	"vkcnn/vk"
)

// TestCheckMemoryCountsTheData: the data sets take their share of the
// device's memory, at the size of the model's input.
func TestCheckMemoryCountsTheData(t *testing.T) {
	spec := ModelSpec{Format: SpecFormat, Name: "colour", Input: [3]int{20, 12, 3}, Layers: []LayerSpec{
		{Type: "flatten"}, {Type: "dense", Units: 4, Activation: "softmax"}}}
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	info := vk.DeviceInfo{Name: "test device"}
	tuning := kernels.NewTuning(info, nil)
	const samples = 1024
	data := DataBytes(m.Input(), samples)
	if want := int64(samples*20*12*3 + samples); data != want {
		t.Fatalf("DataBytes: %d, want %d", data, want)
	}
	info.DeviceLocalBytes = uint64(EstimateBytes(m, 8, tuning) + data)
	if err := CheckMemory(info, m, 8, tuning, samples); err != nil {
		t.Fatalf("what fits exactly: %v", err)
	}
	err = CheckMemory(info, m, 9, tuning, samples)
	want := "colour at batch size 9 needs about"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "with its data (1,024 images of 20x12x3") ||
		!strings.HasSuffix(err.Error(), "the largest batch size that fits is 8") {
		t.Fatalf("got %v, want %q ... with its data ... the largest batch size that fits is 8", err, want)
	}
	if err := CheckMemory(info, m, 9, tuning, 0); err != nil {
		t.Fatalf("without data: %v", err)
	}
}

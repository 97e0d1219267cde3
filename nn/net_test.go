package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// tinySpec uses every layer type (TestEveryKindHasAReference checks):
// conv (with a fused ReLU, and with an activation of its own dispatch),
// both poolings, batch normalization after a convolution and after a
// dense layer, a ReLU layer, an activation layer, a leaky ReLU layer,
// flatten, dense, dropout and the softmax loss.
func tinySpec() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 3, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "maxpool2d"},
		{Type: "activation", Activation: "tanh"},
		{Type: "conv2d", Filters: 4, KernelSize: Pair{5, 5}, Activation: "swish"},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "avgpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 8},
		{Type: "leaky_relu", Alpha: new(0.2)},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "dropout", Rate: 0.3},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// bnSpec is a small model with batch normalization after a convolution
// and after a dense layer, and average pooling.
func bnSpec() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 8, KernelSize: Pair{5, 5}},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "avgpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 16},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// graphSpec is a graph of every joining case: two layers reading the
// model's input; a concatenation of their outputs, read by a batch
// normalization (which works in place) and, around a residual branch, by
// an add; a max pool read by a flatten (which passes its input on) and a
// ReLU layer (in place); that flatten's vector read by a dense layer and a
// concatenation of vectors; and a last dense layer.
func graphSpec() ModelSpec {
	return ModelSpec{Format: GraphFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "left", Filters: 3, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "conv2d", Name: "right", Filters: 2, KernelSize: Pair{1, 1}, Inputs: []string{"input"}},
		{Type: "concatenate", Name: "joined", Inputs: []string{"left", "right"}},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "conv2d", Name: "branch", Filters: 5, KernelSize: Pair{3, 3}},
		{Type: "add", Name: "residual", Inputs: []string{"branch", "joined"}},
		{Type: "maxpool2d", Name: "pooled"},
		{Type: "flatten", Name: "flat"},
		{Type: "dense", Name: "features", Units: 6, Activation: "relu"},
		{Type: "relu", Name: "cut", Inputs: []string{"pooled"}},
		{Type: "flatten"},
		{Type: "dense", Name: "more", Units: 6},
		{Type: "concatenate", Name: "vectors", Inputs: []string{"features", "more", "flat"}},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// joinsSpec is a graph whose add reads two tensors that a later
// concatenation reads too: backward adds the add's parts of both
// gradients, each from a scratch of its own.
func joinsSpec() ModelSpec {
	return ModelSpec{Format: GraphFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "a", Filters: 2, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "conv2d", Name: "b", Filters: 3, KernelSize: Pair{3, 3}, Inputs: []string{"input"}},
		{Type: "concatenate", Name: "sum", Inputs: []string{"a", "b"}},
		{Type: "conv2d", Name: "c", Filters: 5, KernelSize: Pair{1, 1}},
		{Type: "concatenate", Name: "all", Inputs: []string{"c", "a", "b"}},
		{Type: "maxpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// stridedSpec is a ResNet-style graph: a residual block whose shortcut is
// a 1x1 convolution at stride 2, beside two 3x3 convolutions, the first
// at stride 2 ("same" padding as TensorFlow's, the larger half below and
// right); a "valid" convolution; global average pooling; convolutions
// without a bias, strided or not.
func stridedSpec() ModelSpec {
	return ModelSpec{Format: GraphFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "stem", Filters: 3, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "conv2d", Name: "down", Filters: 4, KernelSize: Pair{3, 3}, Strides: Pair{2, 2}, UseBias: new(bool)},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "conv2d", Name: "second", Filters: 4, KernelSize: Pair{3, 3}, UseBias: new(bool)},
		{Type: "conv2d", Name: "shortcut", Filters: 4, KernelSize: Pair{1, 1}, Strides: Pair{2, 2}, Inputs: []string{"stem"}},
		{Type: "add", Name: "block", Inputs: []string{"second", "shortcut"}},
		{Type: "conv2d", Name: "narrow", Filters: 5, KernelSize: Pair{3, 3}, Strides: Pair{1, 2}, Padding: "valid", Activation: "relu"},
		{Type: "globalavgpool2d"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

func randomSet(rng *rand.Rand, n int) ([]byte, []uint8) {
	images := make([]byte, n*28*28)
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(rng.IntN(10))
	}
	return images, labels
}

func newTestNet(t testing.TB, ctx *vk.Context, spec ModelSpec, batch int, seed uint64) *Net {
	t.Helper()
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewNet(ctx, m, batch, kernels.NewTuning(ctx.Info, kernels.FP32, nil), m.Init(seed), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}

// TestSameSeedSameWeights trains twice from one seed with shuffling,
// augmentation and dropout, and expects bit-identical weights, every
// tensor of them moved from where it started (batch normalization's
// moving statistics too): a sequential model and a graph, whose
// gradients sum several layers' parts.
func TestSameSeedSameWeights(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(5, 6))
	images, labels := randomSet(rng, 40)
	for _, spec := range []ModelSpec{tinySpec(), graphSpec(), depthwiseSpec(), windowsSpec()} {
		var results [][]float32
		var m *Model
		for range 2 {
			net := newTestNet(t, ctx, spec, 8, 9)
			m = net.Model
			set, err := net.Upload(images, labels)
			if err != nil {
				t.Fatal(err)
			}
			cfg := TrainConfig{Epochs: 2, BatchSize: 8, LR: 1e-3, Seed: 9, Shuffle: true, Augment: augment.Config{ShiftFrac: 0.1}}
			if _, err := Train(net, set, nil, cfg, nil, nil); err != nil {
				t.Fatal(err)
			}
			p, err := net.Params()
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, p)
		}
		for i := range results[0] {
			if math.Float32bits(results[0][i]) != math.Float32bits(results[1][i]) {
				t.Fatalf("%s: parameter %d differs: %g vs %g", spec.Format, i, results[0][i], results[1][i])
			}
		}
		init := m.Init(9)
		for _, p := range m.Params {
			moved := false
			for i := p.Offset; i < p.Offset+p.Size(); i++ {
				moved = moved || results[0][i] != init[i]
			}
			if !moved {
				t.Errorf("training left %s where it started", p.Name)
			}
		}
	}
}

// TestMemoryEstimateIsExact checks the estimate against what a network
// really allocates, and the error when a model does not fit.
func TestMemoryEstimateIsExact(t *testing.T) {
	ctx := vktest.Open(t)
	for _, spec := range []ModelSpec{tinySpec(), graphSpec(), depthwiseSpec(), windowsSpec()} {
		net := newTestNet(t, ctx, spec, 5, 1)
		if got, want := EstimateBytes(net.Model, 5, net.Tuning, Optimizer{}), net.DeviceBytes(); got != want {
			t.Fatalf("%s: estimate %d bytes, allocated %d", spec.Format, got, want)
		}
	}
	standard, _ := Preset("standard")
	m, _ := Build(standard)
	tuning := kernels.NewTuning(ctx.Info, kernels.FP32, nil)
	data := DataBytes(m.Input(), 70000)
	have := EstimateBytes(m, 100, tuning, Optimizer{}) + data
	msg := largestBatch(func(batch int) bool { return EstimateBytes(m, batch, tuning, Optimizer{})+data <= have })
	if msg != "the largest batch size that fits is 100" {
		t.Fatalf("largestBatch: %s", msg)
	}
}

// TestMemoryCheckSaysWhatItCannotCheck: a network past the device's
// memory is refused as out of memory; where the device reports no memory
// size, the network is built with a note that the estimate went
// unchecked.
func TestMemoryCheckSaysWhatItCannotCheck(t *testing.T) {
	var notes []string
	ctx := vktest.OpenWith(t, vk.Options{Warn: func(err error) { notes = append(notes, err.Error()) }})
	m, err := Build(tinySpec())
	if err != nil {
		t.Fatal(err)
	}
	tuning := kernels.NewTuning(ctx.Info, kernels.FP32, nil)
	ctx.Info.DeviceLocalBytes = 1 << 20
	if _, err := NewNet(ctx, m, 4, tuning, m.Init(1), 70000); !errors.Is(err, vk.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), "the device has 1 MiB") {
		t.Errorf("1 MiB of memory: %v", err)
	}
	ctx.Info.DeviceLocalBytes = 0
	net, err := NewNet(ctx, m, 4, tuning, m.Init(1), 70000)
	if err != nil {
		t.Fatal(err)
	}
	net.Close()
	if len(notes) != 1 || !strings.Contains(notes[0], "could not be checked") {
		t.Errorf("notes %q, want one saying the estimate could not be checked", notes)
	}
}

// TestStepReportsLabelsOutsideTheClasses: the model check keeps such runs
// from starting, so the kernel's count reaches the user only through Step.
func TestStepReportsLabelsOutsideTheClasses(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(7, 8))
	net := newTestNet(t, ctx, tinySpec(), 4, 1)
	images, labels := randomSet(rng, 6)
	labels[1], labels[4] = 10, 255
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	err = net.Step(set, ModeEval, augment.Sampling{}, Feed{Indices: []int{0, 1, 4, 5}})
	if want := "2 samples of the batch have labels outside the model's 10 classes (0..9)"; err == nil || err.Error() != want {
		t.Fatalf("step with labels 10 and 255: %v; want %q", err, want)
	}
	if err := net.Step(set, ModeEval, augment.Sampling{}, Feed{Indices: []int{0, 2, 3, 5}}); err != nil {
		t.Fatalf("the next step, with good labels: %v", err)
	}
}

// TestStepRecordsTheListedProducts: the GEMM-shaped products a training
// step records are exactly those Products lists, which tune and bench
// measure.
func TestStepRecordsTheListedProducts(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	images, labels := randomSet(rng, 4)
	small, _ := Preset("small")
	for _, spec := range []ModelSpec{tinySpec(), small, depthwiseSpec(), windowsSpec()} {
		const batch = 3
		net := newTestNet(t, ctx, spec, batch, 1)
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		if err := net.Step(set, ModeTrain, augment.Sampling{}, Feed{Counter: 1, LR: 1e-3, Indices: []int{0, 1, 2}}); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, r := range net.recorded {
			got = append(got, r.name+": "+r.product.Key())
		}
		names, products := Products(net.Model, batch)
		for i, p := range products {
			want = append(want, names[i]+": "+p.Key())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("a training step records\n%s\nProducts lists\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"vkcnn/augment"
	"vkcnn/nn/kernels"
	"vkcnn/vk"
	"vkcnn/vk/vktest"
)

// tinySpec uses every layer type: conv (with and without fused ReLU),
// both poolings, batch normalization after a convolution and after a
// dense layer, a ReLU layer, flatten, dense, dropout and the softmax loss.
func tinySpec() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 3, KernelSize: 3, Activation: "relu"},
		{Type: "maxpool2d"},
		{Type: "conv2d", Filters: 4, KernelSize: 5},
		{Type: "batchnorm"},
		{Type: "relu"},
		{Type: "avgpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 8},
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
		{Type: "conv2d", Filters: 8, KernelSize: 5},
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

func newTestNet(t *testing.T, ctx *vk.Context, spec ModelSpec, batch int, seed uint64) *Net {
	t.Helper()
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewNet(ctx, m, batch, kernels.NewTuning(ctx.Info, nil), m.Init(seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}

// TestGradientMatchesFiniteDifferences checks the whole backward pass of a
// network with every layer against central differences of the loss, with
// a partial batch so that the padding must contribute nothing.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	// A ReLU or max-pool switch inside ±eps breaks a finite difference now
	// and then; more than two in 72 means a wrong gradient.
	checkGradient(t, tinySpec(), 2)
}

// TestBatchNormGradientMatchesFiniteDifferences checks batch
// normalization's gradients, after a convolution and after a dense layer,
// in a network with nothing that switches: every finite difference must
// agree.
func TestBatchNormGradientMatchesFiniteDifferences(t *testing.T) {
	spec := bnSpec()
	var smooth []LayerSpec
	for _, l := range spec.Layers {
		if l.Type != "relu" {
			smooth = append(smooth, l)
		}
	}
	spec.Layers = smooth
	checkGradient(t, spec, 0)
}

// checkGradient compares, for six random elements of each trainable
// tensor, the gradient of a gradient step on 3 samples in a batch of 4
// with central differences of the loss; more than maxFailures that
// disagree fail the test.
func checkGradient(t *testing.T, spec ModelSpec, maxFailures int) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	net := newTestNet(t, ctx, spec, 4, 3)
	images, labels := randomSet(rng, 6)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	feed := Feed{Counter: 7, Seed: 11, Indices: []int{4, 1, 2}}
	loss := func() float64 {
		if err := net.ResetTotals(); err != nil {
			t.Fatal(err)
		}
		if err := net.Step(set, ModeGradient, augment.Sampling{}, feed); err != nil {
			t.Fatal(err)
		}
		l, _, n, err := net.Totals()
		if err != nil || n != 3 {
			t.Fatalf("totals: %d samples, %v", n, err)
		}
		return l
	}
	loss()
	grads, err := net.Gradients()
	if err != nil {
		t.Fatal(err)
	}
	params, err := net.Params()
	if err != nil {
		t.Fatal(err)
	}
	// Small enough that few ReLU or max-pool switches fall inside ±eps,
	// large enough for float32 losses.
	const eps = 1e-3
	failures, checked, nonzero := 0, 0, 0
	for _, p := range net.Model.Params {
		if !p.Trainable {
			continue
		}
		for range 6 {
			i := p.Offset + rng.IntN(p.Size())
			orig := params[i]
			params[i] = orig + eps
			if err := net.SetParams(params); err != nil {
				t.Fatal(err)
			}
			up := loss()
			params[i] = orig - eps
			if err := net.SetParams(params); err != nil {
				t.Fatal(err)
			}
			down := loss()
			params[i] = orig
			fd := (up - down) / (2 * eps)
			g := float64(grads[i])
			checked++
			if g != 0 {
				nonzero++
			}
			if math.Abs(fd-g) > 2e-3+0.05*math.Abs(g) {
				failures++
				t.Logf("%s[%d]: backward %.6g, finite difference %.6g", p.Name, i-p.Offset, g, fd)
			}
		}
	}
	if failures > maxFailures || nonzero < checked/2 {
		t.Fatalf("%d of %d gradients disagree with finite differences; %d nonzero", failures, checked, nonzero)
	}
}

// TestSameSeedSameWeights trains twice from one seed with shuffling,
// augmentation and dropout, and expects bit-identical weights, every
// tensor of them moved from where it started (batch normalization's
// moving statistics too).
func TestSameSeedSameWeights(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(5, 6))
	images, labels := randomSet(rng, 40)
	var results [][]float32
	var m *Model
	for range 2 {
		net := newTestNet(t, ctx, tinySpec(), 8, 9)
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
			t.Fatalf("parameter %d differs: %g vs %g", i, results[0][i], results[1][i])
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

// TestMemoryEstimateIsExact checks the estimate against what a network
// really allocates, and the error when a model does not fit.
func TestMemoryEstimateIsExact(t *testing.T) {
	ctx := vktest.Open(t)
	net := newTestNet(t, ctx, tinySpec(), 5, 1)
	if got, want := EstimateBytes(net.Model, 5, net.Tuning), net.DeviceBytes(); got != want {
		t.Fatalf("estimate %d bytes, allocated %d", got, want)
	}
	standard, _ := Preset("standard")
	m, _ := Build(standard)
	tuning := kernels.NewTuning(ctx.Info, nil)
	data := DataBytes(m.Input(), 70000)
	msg := largestBatch(m, tuning, EstimateBytes(m, 100, tuning)+data, data)
	if msg != "the largest batch size that fits is 100" {
		t.Fatalf("largestBatch: %s", msg)
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
	for _, spec := range []ModelSpec{tinySpec(), small} {
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

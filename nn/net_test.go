package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"vkcnn/augment"
	"vkcnn/nn/kernels"
	"vkcnn/vk"
	"vkcnn/vk/vktest"
)

// tinySpec uses every layer type: conv (with and without fused ReLU),
// pooling, a ReLU layer, flatten, dense, dropout and the softmax loss.
func tinySpec() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 3, KernelSize: 3, Activation: "relu"},
		{Type: "maxpool2d"},
		{Type: "conv2d", Filters: 4, KernelSize: 5},
		{Type: "relu"},
		{Type: "maxpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 8, Activation: "relu"},
		{Type: "dropout", Rate: 0.3},
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
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	net := newTestNet(t, ctx, tinySpec(), 4, 3)
	images, labels := randomSet(rng, 6)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	step := StepValues{Counter: 7, Seed: 11, Indices: []int{4, 1, 2}}
	loss := func() float64 {
		if err := net.ResetTotals(); err != nil {
			t.Fatal(err)
		}
		if err := net.Step(set, ModeGradient, augment.Sampling{}, step); err != nil {
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
	const eps = 1e-2
	failures, checked, nonzero := 0, 0, 0
	for _, p := range net.Model.Params {
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
	// A ReLU or max-pool switch inside ±eps breaks a finite difference now
	// and then; more than two in 48 means a wrong gradient.
	if failures > 2 || nonzero < checked/2 {
		t.Fatalf("%d of %d gradients disagree with finite differences; %d nonzero", failures, checked, nonzero)
	}
}

// TestSameSeedSameWeights trains twice from one seed with shuffling,
// augmentation and dropout, and expects bit-identical parameters.
func TestSameSeedSameWeights(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(5, 6))
	images, labels := randomSet(rng, 40)
	var results [][]float32
	for range 2 {
		net := newTestNet(t, ctx, tinySpec(), 8, 9)
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
	changed := false
	init := results[0]
	for i := range results[0] {
		if math.Float32bits(results[0][i]) != math.Float32bits(results[1][i]) {
			t.Fatalf("parameter %d differs: %g vs %g", i, results[0][i], results[1][i])
		}
		changed = changed || init[i] != 0
	}
	if !changed {
		t.Fatal("training left every parameter at zero")
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
	msg := largestBatch(m, tuning, EstimateBytes(m, 100, tuning)+DataBytes(70000))
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
	err = net.Step(set, ModeEval, augment.Sampling{}, StepValues{Indices: []int{0, 1, 4, 5}})
	if want := "2 samples of the batch have labels outside the model's 10 classes (0..9)"; err == nil || err.Error() != want {
		t.Fatalf("step with labels 10 and 255: %v; want %q", err, want)
	}
	if err := net.Step(set, ModeEval, augment.Sampling{}, StepValues{Indices: []int{0, 2, 3, 5}}); err != nil {
		t.Fatalf("the next step, with good labels: %v", err)
	}
}

package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestBatchNormInTraining: a training step on 3 samples in a batch of 4
// moves the moving statistics towards those of the 3 real samples only
// (the padding repeats the last one, which would shift them); a gradient
// step leaves every weight alone.
func TestBatchNormInTraining(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(11, 12))
	images, labels := randomSet(rng, 5)
	net := newTestNet(t, ctx, bnSpec(), 4, 2)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	before, err := net.Params()
	if err != nil {
		t.Fatal(err)
	}
	// The third update of the moving averages: they still remember where
	// they started.
	feed := Feed{Counter: 3, Seed: 1, LR: AdamLR(1e-3, 3), Indices: []int{3, 0, 4}}
	if err := net.Step(set, ModeGradient, augment.Sampling{}, feed); err != nil {
		t.Fatal(err)
	}
	after, err := net.Params()
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if math.Float32bits(before[i]) != math.Float32bits(after[i]) {
			t.Fatalf("a gradient step changed weight %d", i)
		}
	}
	if err := net.Step(set, ModeTrain, augment.Sampling{}, feed); err != nil {
		t.Fatal(err)
	}
	if after, err = net.Params(); err != nil {
		t.Fatal(err)
	}
	// The first batch normalization's input is the convolution's output,
	// as the step computed it (before Adam moved the kernel).
	bn := net.Model.Layers[1].rec.(*batchNorm)
	in := net.Model.Layers[1].In
	x := make([]float32, 4*in.Size())
	if err := net.acts[1].ReadFloat32(0, x); err != nil {
		t.Fatal(err)
	}
	r := ref.BatchNorm{Rows: 4 * in.H * in.W, C: in.C, Valid: 3 * in.H * in.W, Eps: batchNormEpsilon, Momentum: batchNormMomentum}
	mean, variance := r.Stats(x)
	for _, c := range []struct {
		p     *Param
		batch []float64
	}{{bn.movingMean, mean}, {bn.movingVar, r.Unbiased(variance)}} {
		want := r.Update(before[c.p.Offset:c.p.Offset+c.p.Size()], c.batch, int(feed.Counter))
		for i, w := range want {
			if got := after[c.p.Offset+i]; math.Abs(float64(got-w)) > 1e-6*max(1, math.Abs(float64(w))) {
				t.Fatalf("%s[%d] is %.9g after the step, want %.9g", c.p.Name, i, got, w)
			}
		}
	}
}

// TestBatchNormEvaluatesWithMovingStatistics: in evaluation a sample's
// logits do not depend on the other samples of its batch, as they do in
// training.
func TestBatchNormEvaluatesWithMovingStatistics(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(13, 14))
	images, labels := randomSet(rng, 16)
	net := newTestNet(t, ctx, bnSpec(), 4, 2)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	cfg := TrainConfig{Epochs: 1, BatchSize: 4, LR: 1e-3, Seed: 3, Shuffle: true}
	if _, err := Train(net, set, nil, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	logitsOf := func(mode Mode, indices []int) []float32 {
		t.Helper()
		if err := net.Step(set, mode, augment.Sampling{}, Feed{Counter: 99, Indices: indices}); err != nil {
			t.Fatal(err)
		}
		z, err := net.Logits()
		if err != nil {
			t.Fatal(err)
		}
		return z[:net.Model.Classes] // the first sample's
	}
	a, b := logitsOf(ModeEval, []int{0, 1, 2, 3}), logitsOf(ModeEval, []int{0, 9, 10, 11})
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("evaluation: the first sample's logit %d is %g beside samples 1-3, %g beside 9-11", i, a[i], b[i])
		}
	}
	a, b = logitsOf(ModeGradient, []int{0, 1, 2, 3}), logitsOf(ModeGradient, []int{0, 9, 10, 11})
	if maxAbsDiff(a, b) == 0 {
		t.Fatal("in training too the first sample's logits do not depend on the batch: no batch statistics?")
	}
}

func maxAbsDiff(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		worst = max(worst, math.Abs(float64(a[i]-b[i])))
	}
	return worst
}

package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// loadMNIST reads the real data from the repository's data/mnist (which
// `./build.sh test` fetches), or skips the test.
func loadMNIST(t *testing.T) (train, test *dataset.Set) {
	t.Helper()
	dir := filepath.Join("..", dataset.DefaultDir)
	if d := os.Getenv("VKCNN_DATA"); d != "" {
		dir = d
	}
	d, err := dataset.Load(dir)
	if errors.Is(err, dataset.ErrNoData) {
		t.Skipf("no MNIST data: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Train, d.Test
}

// TestTinyNetworkLearnsMNIST trains a tiny network for one epoch on 2,000
// training images and expects at least 90% on 1,000 test images.
func TestTinyNetworkLearnsMNIST(t *testing.T) {
	train, test := loadMNIST(t)
	ctx := vktest.Open(t)
	spec := ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 32, KernelSize: Pair{5, 5}, Activation: "relu"},
		{Type: "maxpool2d"},
		{Type: "conv2d", Filters: 32, KernelSize: Pair{5, 5}, Activation: "relu"},
		{Type: "maxpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 128, Activation: "relu"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
	net := newTestNet(t, ctx, spec, 4, 1)
	trainSet, err := net.Upload(train.Images[:2000*784], train.Labels[:2000])
	if err != nil {
		t.Fatal(err)
	}
	testSet, err := net.Upload(test.Images[:1000*784], test.Labels[:1000])
	if err != nil {
		t.Fatal(err)
	}
	cfg := TrainConfig{Epochs: 1, BatchSize: 4, LR: 2e-3, Seed: 2, Shuffle: true}
	history, err := Train(net, trainSet, testSet, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := history[0]
	t.Logf("loss %.4f acc %.4f val_loss %.4f val_acc %.4f (%.0f images/s)", h.Loss, h.Acc, h.ValLoss, h.ValAcc, h.ImagesPerSecond)
	if !h.HasVal || h.ValAcc < 0.90 {
		t.Fatalf("test accuracy %.4f after one epoch on 2,000 images, want >= 0.90", h.ValAcc)
	}
	if h.Images != 2000 {
		t.Fatalf("%d images trained, want 2000", h.Images)
	}
}

// TestStandardModelTrainsOnLavapipe builds the reference network, runs two
// training steps at batch size 2 on the same samples, and expects a finite
// loss that falls.
func TestStandardModelTrainsOnLavapipe(t *testing.T) {
	if testing.Short() {
		t.Skip("the standard model takes a few seconds a step on lavapipe")
	}
	ctx := vktest.Open(t)
	spec, _ := Preset("standard")
	net := newTestNet(t, ctx, spec, 4, 1)
	images, labels := make([]byte, 2*784), []uint8{3, 7}
	for i := range images {
		// Two crude strokes, different for each image.
		if (i%28 > 10 && i%28 < 14) != (i >= 784 && (i%784)/28 > 12 && (i%784)/28 < 16) {
			images[i] = 255
		}
	}
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	for step := uint32(1); step <= 2; step++ {
		if err := net.ResetTotals(); err != nil {
			t.Fatal(err)
		}
		v := Feed{Counter: step, Seed: 1, LR: AdamLR(5e-4, step), Indices: []int{0, 1}}
		if err := net.Step(set, ModeTrain, augment.Sampling{}, v); err != nil {
			t.Fatal(err)
		}
		loss, _, _, err := net.Totals()
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	t.Logf("losses %v", losses)
	if math.IsNaN(losses[0]) || math.IsInf(losses[0], 0) || !(losses[1] < losses[0]) {
		t.Fatalf("losses %v: want finite and falling", losses)
	}
}

// One training step of each preset, augmented, runs clean under the
// validation layer's synchronization validation: no missing barrier.
func TestPresetStepsPassSyncValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("the standard model takes seconds a step on lavapipe")
	}
	if !vk.ValidationAvailable() {
		t.Skip("no validation layer installed")
	}
	ctx := vktest.OpenWith(t, vk.Options{SyncValidation: true})
	rng := rand.New(rand.NewPCG(5, 6))
	images, labels := randomSet(rng, 3)
	for _, name := range []string{"small", "standard"} {
		spec, _ := Preset(name)
		net := newTestNet(t, ctx, spec, 2, 1)
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		var affines []float32
		for _, a := range []augment.Affine{augment.Shift(2, -1), augment.Shift(-3, 0)} {
			affines = append(affines, a[:]...)
		}
		v := Feed{Counter: 1, Seed: 1, LR: AdamLR(1e-3, 1), Indices: []int{2, 0}, Affines: affines}
		if err := net.Step(set, ModeTrain, augment.Sampling{Fill: augment.Constant}, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := ctx.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

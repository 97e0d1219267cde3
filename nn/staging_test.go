package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestStagedTrainingIsBitIdentical trains a tiny network for a few steps
// with device buffers mapped and again through staging, the path of a
// discrete GPU: no device buffer of the staged run may be mapped, and the
// weights, Adam's state and the losses must agree bit for bit.
func TestStagedTrainingIsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	images, labels := randomSet(rng, 40)
	cfg := TrainConfig{Epochs: 2, BatchSize: 8, StepsPerEpoch: 3, LR: 1e-3, Seed: 9, Shuffle: true,
		Augment: augment.Config{ShiftFrac: 0.1}, ValSplit: 0.25}
	type result struct {
		params, adamM, adamV []float32
		history              []EpochStats
	}
	run := func(staged bool) result {
		ctx := vktest.OpenWith(t, vk.Options{ForceStaging: staged})
		if got := ctx.Placement().Mapped; got == staged {
			t.Fatalf("staged %v, but the placement maps device buffers: %v", staged, got)
		}
		net := newTestNet(t, ctx, tinySpec(), 8, 3)
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		history, err := Train(net, set, nil, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if staged {
			for _, b := range net.owned {
				if !b.Host() && b.Mapped() {
					t.Fatalf("staged run: a device buffer of %d bytes is mapped", b.Size())
				}
			}
			if net.slotUpload == nil {
				t.Fatal("staged run: the step's values are not uploaded through host memory")
			}
		}
		var r result
		r.history = history
		if r.params, err = net.Params(); err != nil {
			t.Fatal(err)
		}
		if r.adamM, r.adamV, err = net.OptimizerState(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	mapped, staged := run(false), run(true)
	same := func(what string, a, b []float32) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %d values mapped, %d staged", what, len(a), len(b))
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s %d: %g mapped, %g staged", what, i, a[i], b[i])
			}
		}
	}
	same("parameter", mapped.params, staged.params)
	same("Adam m", mapped.adamM, staged.adamM)
	same("Adam v", mapped.adamV, staged.adamV)
	if len(mapped.history) != len(staged.history) {
		t.Fatalf("%d epochs mapped, %d staged", len(mapped.history), len(staged.history))
	}
	for i := range mapped.history {
		a, b := mapped.history[i], staged.history[i]
		if a.Loss != b.Loss || a.Acc != b.Acc || a.ValLoss != b.ValLoss || a.ValAcc != b.ValAcc {
			t.Fatalf("epoch %d: mapped %+v, staged %+v", i+1, a, b)
		}
	}
}

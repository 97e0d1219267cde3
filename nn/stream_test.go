package nn

import (
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestStreamedTrainsAsResident trains from one seed twice, with shuffling,
// shifts, flips, normalization, a partial last batch and validation on
// the held-out end, once on a resident set and once on the same set
// streamed: the weights and every epoch's figures are the same to the bit.
func TestStreamedTrainsAsResident(t *testing.T) {
	train, _ := loadMNIST(t)
	ctx := vktest.Open(t)
	spec := ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 4, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "batchnorm"},
		{Type: "maxpool2d"},
		{Type: "flatten"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
	const n = 203 // 8 of the 10 steps of batch 20 a full epoch, then a part
	images, labels := train.Images[:n*784], train.Labels[:n]
	norm := &augment.Normalization{Mean: []float32{0.13}, Std: []float32{0.31}}
	cfg := TrainConfig{Epochs: 2, BatchSize: 20, LR: 2e-3, Seed: 3, Shuffle: true, ValSplit: 0.1,
		Augment: augment.Config{ShiftPx: 2, Flip: augment.Horizontal}}
	var weights [2][]float32
	var histories [2][]EpochStats
	for i, streamed := range []bool{false, true} {
		net := newTestNet(t, ctx, spec, cfg.BatchSize, 1)
		upload := net.Upload
		if streamed {
			upload = net.UploadStreamed
		}
		set, err := upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		set.Norm = norm
		if histories[i], err = Train(net, set, nil, cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
		if weights[i], err = net.Params(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(weights[0], weights[1]) {
		t.Error("the streamed run ends with other weights than the resident one")
	}
	for e := range histories[0] {
		a, b := histories[0][e], histories[1][e]
		if a.Loss != b.Loss || a.Acc != b.Acc || a.ValLoss != b.ValLoss || a.ValAcc != b.ValAcc {
			t.Errorf("epoch %d: resident %+v, streamed %+v", e+1, a, b)
		}
	}
}

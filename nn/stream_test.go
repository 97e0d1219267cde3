package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

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

// TestStreamRingGathersAhead runs a streamed step told the next two
// batches: they are in the ring's other slots once it returns, the
// last one padded as a step pads it, and the next step reads its batch
// from the slot that holds it.
func TestStreamRingGathersAhead(t *testing.T) {
	ctx := vktest.Open(t)
	spec := ModelSpec{Format: SpecFormat, Input: [3]int{5, 3, 2}, Layers: []LayerSpec{
		{Type: "flatten"},
		{Type: "dense", Units: 3, Activation: "softmax"},
	}}
	net := newTestNet(t, ctx, spec, 4, 1)
	images, labels := streamSet(11, 30, 3)
	set, err := net.UploadStreamed(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	order := []int{10, 2, 7, 3, 0, 9, 4, 5, 1}
	ahead := batchesAhead(order, 4, 1, 3)
	if want := [][]int{{0, 9, 4, 5}, {1}}; !slices.EqualFunc(ahead, want, slices.Equal) {
		t.Fatalf("batches ahead %v, want %v", ahead, want)
	}
	if err := net.Step(set, ModeEval, augment.Sampling{}, Feed{Indices: order[:4], Ahead: ahead}); err != nil {
		t.Fatal(err)
	}
	busy := set.holds([]uint32{10, 2, 7, 3})
	for _, want := range [][]uint32{{0, 9, 4, 5}, {1, 1, 1, 1}} {
		i := set.holds(want)
		if i < 0 || i == busy {
			t.Fatalf("batch %v is not in a free slot of the ring (slots %v, the step's %d)", want, set.held, busy)
		}
		got := make([]byte, set.batchBytes)
		buf := set.window
		if set.windowUpload != nil {
			buf = set.windowUpload
		}
		if err := buf.Read(int64(i)*set.slotBytes, got); err != nil {
			t.Fatal(err)
		}
		for k, idx := range want {
			if !slices.Equal(got[k*30:(k+1)*30], images[idx*30:(idx+1)*30]) {
				t.Errorf("slot %d, sample %d: not image %d", i, k, idx)
			}
		}
	}
	if err := net.Step(set, ModeEval, augment.Sampling{}, Feed{Indices: order[4:8]}); err != nil {
		t.Fatal(err)
	}
	slot := set.holds([]uint32{0, 9, 4, 5})
	if net.last != net.recordings[recordingKey{set: set, mode: ModeEval, slot: slot}] {
		t.Errorf("the second step did not read slot %d, the one its batch was gathered into", slot)
	}
}

// streamSet is n random images of size bytes and their labels, of
// classes classes.
func streamSet(n, size, classes int) ([]byte, []uint8) {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
	images, labels := make([]byte, n*size), make([]uint8, n)
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = uint8(rng.IntN(classes))
	}
	return images, labels
}

// BenchmarkStreamedStep times a training step of batch 32 on a set of
// 512 images that fits the device, three ways: resident; streamed, each
// step gathering its batch before it runs (Feed.Ahead empty); and
// streamed with the next batches gathered while it runs, as Train does.
// The three take turns step by step, so that a machine whose load drifts
// slows them alike, and each reports its median step. Two shapes:
// MNIST's, where a batch is 25 KB, and 96x96x3, 885 KB.
func BenchmarkStreamedStep(b *testing.B) {
	ctx := vktest.Open(b)
	const n, batch = 512, 32
	ways := []string{"resident", "streamed", "overlapped"}
	for _, input := range [][3]int{{28, 28, 1}, {96, 96, 3}} {
		spec := ModelSpec{Format: SpecFormat, Input: input, Layers: []LayerSpec{
			{Type: "conv2d", Filters: 8, KernelSize: Pair{3, 3}, Activation: "relu"},
			{Type: "maxpool2d"},
			{Type: "flatten"},
			{Type: "dense", Units: 10, Activation: "softmax"},
		}}
		images, labels := streamSet(n, input[0]*input[1]*input[2], 10)
		order := rand.New(rand.NewPCG(1, 2)).Perm(n)
		b.Run(fmt.Sprintf("%dx%dx%d", input[0], input[1], input[2]), func(b *testing.B) {
			nets, sets := make([]*Net, len(ways)), make([]*DeviceSet, len(ways))
			for w, way := range ways {
				nets[w] = newTestNet(b, ctx, spec, batch, 1)
				upload := nets[w].Upload
				if way != "resident" {
					upload = nets[w].UploadStreamed
				}
				var err error
				if sets[w], err = upload(images, labels); err != nil {
					b.Fatal(err)
				}
			}
			steps := n / batch
			times := make([][]time.Duration, len(ways))
			step := func(w, i int) {
				k := i % steps
				feed := Feed{Counter: uint32(i + 1), LR: 1e-3, Indices: order[k*batch : (k+1)*batch]}
				if ways[w] == "overlapped" {
					feed.Ahead = batchesAhead(order, batch, k+1, steps)
				}
				began := time.Now()
				if err := nets[w].Step(sets[w], ModeTrain, augment.Sampling{}, feed); err != nil {
					b.Fatal(err)
				}
				times[w] = append(times[w], time.Since(began))
			}
			for i := range ringSlots { // the recordings, one a slot
				for w := range ways {
					step(w, i)
				}
			}
			times = make([][]time.Duration, len(ways))
			b.ResetTimer()
			for i := range b.N {
				for w := range ways {
					step(w, ringSlots+i)
				}
			}
			b.StopTimer()
			// The host's part alone: gathering a batch into a slot.
			var gathers []time.Duration
			for k := range steps {
				o, err := nets[1].batchOrder(sets[1], order[k*batch:(k+1)*batch])
				began := time.Now()
				if err = errors.Join(err, sets[1].gather(0, o)); err != nil {
					b.Fatal(err)
				}
				gathers = append(gathers, time.Since(began))
			}
			median := func(d []time.Duration) float64 {
				return float64(slices.Sorted(slices.Values(d))[len(d)/2].Microseconds()) / 1000
			}
			for w, way := range ways {
				b.ReportMetric(median(times[w]), way+"-ms/step")
			}
			b.ReportMetric(median(gathers), "gather-ms/batch")
		})
	}
}

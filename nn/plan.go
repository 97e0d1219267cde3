package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// plan is every device buffer a network of a model takes at a batch size,
// in floats: what NewNet allocates and EstimateBytes adds up.
type plan struct {
	// params is the weight vector, trainable its prefix Adam trains (the
	// size of the gradients and of each of Adam's moments).
	params, trainable int
	// acts and dacts are the values and gradients at each layer boundary
	// (acts[0] the input, dacts[0] unused); 0 where a layer passes on its
	// input, or its gradient in place: the boundary shares the buffer of
	// the one before (acts) or after (dacts).
	acts, dacts []int
	own         [][]int // each layer's buffers of its own
	slot        int
	// orderOffset and affineOffset place the batch order and the affines
	// in the slot, after its header.
	orderOffset, affineOffset int64
	colSum, split, stats      int
}

func newPlan(m *Model, batch int, tuning kernels.Tuning) plan {
	layers := m.Layers
	p := plan{params: m.ParamFloats, trainable: m.TrainableFloats,
		acts: make([]int, len(layers)+1), dacts: make([]int, len(layers)+1), own: make([][]int, len(layers)),
		colSum: 1, split: 1, stats: 3 * batch}
	p.acts[0] = batch * m.Input().Size()
	p.dacts[len(layers)] = batch * m.Classes
	for i, l := range layers {
		need := l.rec.needs(batch, i == 0, tuning)
		if !need.passesOn {
			p.acts[i+1] = batch * l.Out.Size()
		}
		if i > 0 && !need.gradientInPlace {
			p.dacts[i] = batch * l.In.Size()
		}
		p.own[i] = need.own
		p.colSum, p.split = max(p.colSum, need.colSum), max(p.split, need.split)
	}
	// Every device's storage alignment accepts offsets of 256 bytes.
	const align = 256
	p.orderOffset = align
	p.affineOffset = p.orderOffset + (4*int64(batch)+align-1)/align*align
	p.slot = int(p.affineOffset/4) + 6*batch
	return p
}

// device lists the floats of every device buffer of the plan.
func (p plan) device() []int {
	out := []int{p.params, p.trainable, p.trainable, p.trainable}
	for _, boundaries := range [][]int{p.acts, p.dacts[1:]} {
		for _, floats := range boundaries {
			if floats > 0 {
				out = append(out, floats)
			}
		}
	}
	for _, own := range p.own {
		out = append(out, own...)
	}
	return append(out, p.slot, p.colSum, p.split, p.stats)
}

// deviceBytes is the device memory the plan takes, as vk allocates it.
func (p plan) deviceBytes() int64 {
	var total int64
	for _, floats := range p.device() {
		total += (4*int64(floats) + 15) &^ 15
	}
	return total
}

// allocate makes the plan's buffers, and host buffers for the counters,
// and puts the weights in place.
func (n *Net) allocate(p plan, params []float32) error {
	var err error
	buffer := func(floats int, host bool) *vk.Buffer {
		if err != nil {
			return nil
		}
		var b *vk.Buffer
		if host {
			b, err = n.ctx.NewHostBuffer(4 * int64(floats))
		} else {
			b, err = n.ctx.NewBuffer(4 * int64(floats))
		}
		if err == nil {
			n.owned = append(n.owned, b)
		}
		return b
	}
	n.params, n.grads, n.adamM, n.adamV = buffer(p.params, false), buffer(p.trainable, false), buffer(p.trainable, false), buffer(p.trainable, false)
	n.acts, n.dacts = make([]*vk.Buffer, len(p.acts)), make([]*vk.Buffer, len(p.dacts))
	for i, floats := range p.acts {
		if floats > 0 {
			n.acts[i] = buffer(floats, false)
		} else {
			n.acts[i] = n.acts[i-1]
		}
	}
	for i := len(p.dacts) - 1; i >= 1; i-- {
		if floats := p.dacts[i]; floats > 0 {
			n.dacts[i] = buffer(floats, false)
		} else {
			n.dacts[i] = n.dacts[i+1]
		}
	}
	n.own = make([][]*vk.Buffer, len(p.own))
	for i, own := range p.own {
		for _, floats := range own {
			n.own[i] = append(n.own[i], buffer(floats, false))
		}
	}
	n.slot, n.orderOffset, n.affineOffset = buffer(p.slot, false), p.orderOffset, p.affineOffset
	n.colSumScratch, n.splitScratch, n.stats = buffer(p.colSum, false), buffer(p.split, false), buffer(p.stats, false)
	n.totals, n.labelErrors = buffer(4, true), buffer(1, true)
	if err == nil && !n.slot.Mapped() {
		n.slotUpload = buffer(p.slot, true)
	}
	if err != nil {
		return fmt.Errorf("allocate the network: %w", err)
	}
	zeros := make([]float32, p.trainable)
	return errors.Join(n.params.WriteFloat32(0, params), n.grads.WriteFloat32(0, zeros), n.adamM.WriteFloat32(0, zeros),
		n.adamV.WriteFloat32(0, zeros), n.labelErrors.WriteUint32(0, []uint32{0}))
}

// EstimateBytes is the device memory a network of the model takes at a
// batch size with the kernels tuning chooses (their split scratch counts),
// without data sets.
func EstimateBytes(m *Model, batch int, tuning kernels.Tuning) int64 {
	return newPlan(m, batch, tuning).deviceBytes()
}

// DataBytes is the device memory of data sets of n samples of the
// model's input: their bytes and their labels.
func DataBytes(in Shape, n int) int64 {
	return (int64(n)*int64(in.Size())+15)&^15 + (int64(n)+15)&^15
}

// rangeError is why a step of m at a batch size cannot be recorded within
// the device's storage-buffer range, split as the kernels split their
// work: the first of its products, as tuning chooses them, that cannot.
func rangeError(info vk.DeviceInfo, m *Model, batch int, tuning kernels.Tuning) error {
	names, products := Products(m, batch)
	for i, p := range products {
		chosen, _ := tuning.Choose(p)
		if err := kernels.Fits(info, chosen); err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return nil
}

// largestBatch says which batch size is the largest that fits, which the
// sizes up to it do.
func largestBatch(fits func(batch int) bool) string {
	if !fits(1) {
		return "even batch size 1 does not fit"
	}
	lo := 1
	for fits(lo*2) && lo < 1<<20 {
		lo *= 2
	}
	hi := lo * 2
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return fmt.Sprintf("the largest batch size that fits is %d", lo)
}

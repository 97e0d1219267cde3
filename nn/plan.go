package nn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// plan is every device buffer a network of a model takes at a batch size,
// in floats: what NewNet allocates and EstimateBytes adds up.
type plan struct {
	// params is the weight vector, trainable its prefix Adam trains (the
	// size of each of Adam's moments), gradients the longer prefix that
	// has gradients (the frozen parameters' too).
	params, trainable, gradients int
	// acts are the values of each tensor (acts[0] the input, acts[i+1]
	// layer i's output), which a training step keeps to its end; 0 where
	// a layer passes its input on: the tensor shares its input's buffer.
	acts []int
	// grads are the gradient buffers, which tensors whose gradients are
	// not live at once share: gradOf[t] is tensor t's (-1 for the
	// input's, which nothing computes). sums are scratch for a layer's
	// parts of gradients that several layers add up, one for each such
	// input of a layer (none where no layer has one).
	grads  []int
	gradOf []int
	sums   []int
	// routes say where each layer's input gradients go, by input.
	routes [][]route
	own    [][]int // each layer's buffers of its own
	slot   int
	// orderOffset and affineOffset place the batch order and the affines
	// in the slot, after its header.
	orderOffset, affineOffset int64
	colSum, split, stats      int
}

// A route is where a layer writes the gradient of one of its inputs, and
// how that reaches the input's gradient. A tensor that one layer reads
// takes its gradient as the layer writes it. One that several read sums
// their parts in a fixed order, the last reader's first: the first part
// is written there (or copied, from a layer that works in place), each
// next one added to it. A layer's k-th input routed addSum writes the
// k-th sum scratch.
type route int

const (
	noGradient route = iota // the model's input
	direct                  // the layer writes the tensor's gradient
	copyOwn                 // it works in place in its output gradient, which is copied over
	addOwn                  // ... which is added
	addSum                  // it writes the sum scratch, which is added
)

func newPlan(m *Model, batch int, tuning kernels.Tuning, share bool) plan {
	layers := m.Layers
	tensors := len(layers) + 1
	p := plan{params: m.ParamFloats, trainable: m.TrainableFloats, gradients: m.GradientFloats,
		acts: make([]int, tensors), gradOf: make([]int, tensors), routes: make([][]route, len(layers)),
		own: make([][]int, len(layers)), colSum: 1, split: 1, stats: 3 * batch}
	size := func(t int) int {
		if t == 0 {
			return batch * m.Input().Size()
		}
		return batch * layers[t-1].Out.Size()
	}
	p.acts[0] = size(0)
	// Gradients that share a buffer because a layer works in place, as
	// unions: group[t] leads to t's group's first tensor.
	group := make([]int, tensors)
	for t := range group {
		group[t] = t
	}
	find := func(t int) int {
		for group[t] != t {
			t = group[t]
		}
		return t
	}
	for i, l := range layers {
		need := l.rec.needs(batch, l.Inputs[0] == 0, tuning)
		if !need.passesOn {
			p.acts[i+1] = size(i + 1)
		}
		p.own[i] = need.own
		p.colSum, p.split = max(p.colSum, need.colSum), max(p.split, need.split)
		scratch := 0 // sum scratch the layer's inputs take so far
		for _, t := range l.Inputs {
			readers := m.readers[t]
			first := readers[len(readers)-1] == i // the first to add its part
			var r route
			switch {
			case t == 0:
				r = noGradient
			case len(readers) == 1:
				r = direct
				if need.gradientInPlace {
					group[find(t)] = find(i + 1)
				}
			case need.gradientInPlace && first:
				r = copyOwn
			case need.gradientInPlace:
				r = addOwn
			case first:
				r = direct
			default:
				r = addSum
				if scratch == len(p.sums) {
					p.sums = append(p.sums, 0)
				}
				p.sums[scratch] = max(p.sums[scratch], size(t))
				scratch++
			}
			p.routes[i] = append(p.routes[i], r)
		}
	}
	// Each group's gradient is live from the backward pass of its tensors'
	// last reader (the loss's, before any, for the logits) to that of the
	// first's producer, in the order backward runs the layers: layer i at
	// len(layers)-1-i.
	type live struct{ from, to, floats int }
	groups := map[int]*live{}
	var order []int
	for t := 1; t < tensors; t++ {
		g := find(t)
		from := -1 // the loss
		if readers := m.readers[t]; len(readers) > 0 {
			from = len(layers) - 1 - readers[len(readers)-1]
		}
		to := len(layers) - t // backward of layer t-1
		if groups[g] == nil {
			groups[g] = &live{from, to, size(t)}
			order = append(order, g)
		} else {
			lv := groups[g]
			lv.from, lv.to, lv.floats = min(lv.from, from), max(lv.to, to), max(lv.floats, size(t))
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return groups[a].from - groups[b].from })
	// First fit: a group takes the first buffer whose last gradient is no
	// longer live, or a buffer of its own.
	var busy []int // each buffer's last backward step
	bufferOf := map[int]int{}
	for _, g := range order {
		lv, b := groups[g], -1
		for j, until := range busy {
			if share && until < lv.from {
				b = j
				break
			}
		}
		if b < 0 {
			b = len(p.grads)
			p.grads, busy = append(p.grads, 0), append(busy, 0)
		}
		p.grads[b], busy[b] = max(p.grads[b], lv.floats), lv.to
		bufferOf[g] = b
	}
	p.gradOf[0] = -1
	for t := 1; t < tensors; t++ {
		p.gradOf[t] = bufferOf[find(t)]
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
	out := []int{p.params, p.gradients, p.trainable, p.trainable}
	for _, floats := range p.acts {
		if floats > 0 {
			out = append(out, floats)
		}
	}
	out = append(out, p.grads...)
	out = append(out, p.sums...)
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
	n.params, n.grads, n.adamM, n.adamV = buffer(p.params, false), buffer(p.gradients, false), buffer(p.trainable, false), buffer(p.trainable, false)
	n.acts = make([]*vk.Buffer, len(p.acts))
	for t, floats := range p.acts {
		if floats > 0 {
			n.acts[t] = buffer(floats, false)
		} else {
			n.acts[t] = n.acts[n.Model.Layers[t-1].Inputs[0]]
		}
	}
	grads := make([]*vk.Buffer, len(p.grads))
	for b, floats := range p.grads {
		grads[b] = buffer(floats, false)
	}
	n.dacts = make([]vk.Range, len(p.gradOf))
	for t, b := range p.gradOf {
		if b >= 0 && err == nil {
			floats := n.Batch * n.Model.Layers[t-1].Out.Size()
			n.dacts[t] = vk.Range{Buf: grads[b], Size: 4 * int64(floats)}
		}
	}
	for _, floats := range p.sums {
		n.sumScratch = append(n.sumScratch, buffer(floats, false))
	}
	n.routes = p.routes
	n.own = make([][]*vk.Buffer, len(p.own))
	for i, own := range p.own {
		for _, floats := range own {
			n.own[i] = append(n.own[i], buffer(floats, false))
		}
	}
	n.slot, n.orderOffset, n.affineOffset = buffer(p.slot, false), p.orderOffset, p.affineOffset
	n.colSumScratch, n.splitScratch, n.stats = buffer(p.colSum, false), buffer(p.split, false), buffer(p.stats, false)
	n.totals, n.labelErrors = buffer(kernels.TotalsWords, true), buffer(1, true)
	if err == nil && !n.slot.Mapped() {
		n.slotUpload = buffer(p.slot, true)
	}
	if err != nil {
		return fmt.Errorf("allocate the network: %w", err)
	}
	zeros := make([]float32, p.gradients)
	return errors.Join(n.params.WriteFloat32(0, params), n.grads.WriteFloat32(0, zeros), n.adamM.WriteFloat32(0, zeros[:p.trainable]),
		n.adamV.WriteFloat32(0, zeros[:p.trainable]), n.labelErrors.WriteUint32(0, []uint32{0}))
}

// EstimateBytes is the device memory a network of the model takes at a
// batch size with the kernels tuning chooses (their split scratch counts),
// training with optimizer o (its decay mask and clipping scratch count),
// without data sets.
func EstimateBytes(m *Model, batch int, tuning kernels.Tuning, o Optimizer) int64 {
	total := newPlan(m, batch, tuning, true).deviceBytes()
	for _, floats := range o.deviceFloats(m) {
		total += (4*int64(floats) + 15) &^ 15
	}
	return total
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

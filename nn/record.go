package nn

import (
	"fmt"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// recording returns the training or evaluation step on set, recorded on
// first use.
func (n *Net) recording(set *DeviceSet, mode Mode, warp augment.Sampling, slot int) (*vk.Recording, error) {
	key := recordingKey{set, mode, warp, n.profile, slot}
	if mode == ModeEval {
		key.warp = augment.Sampling{}
	}
	if r, ok := n.recordings[key]; ok {
		return r, nil
	}
	rec, err := n.ctx.NewRecording()
	if err != nil {
		return nil, err
	}
	// Where the device has timestamps, one opens every step and one closes
	// it (StepDeviceTime reads them); a profiled step's marks put one after
	// every part, the last closing it.
	stamps := n.ctx.Info.Timestamps
	if stamps {
		_, err = rec.Timestamp()
	}
	if err == nil && n.slotUpload != nil {
		err = rec.Copy(whole(n.slotUpload), whole(n.slot))
	}
	if err == nil && set.windowUpload != nil {
		err = rec.Copy(set.slotRange(set.windowUpload, slot), set.slotRange(set.window, slot))
	}
	if err == nil {
		err = n.record(rec, set, mode, key.warp, slot)
	}
	if err == nil && stamps && !n.profile {
		_, err = rec.Timestamp()
	}
	if err != nil {
		rec.Close()
		return nil, err
	}
	n.recordings[key] = rec
	return rec, nil
}

// record adds one step: gather and warp the batch, forward, loss and
// counters, then as the mode says backward and the optimizer's update.
func (n *Net) record(rec *vk.Recording, set *DeviceSet, mode Mode, warp augment.Sampling, slot int) error {
	ctx := n.ctx
	g := n.Model.Input().Geometry()
	// A streamed set's batch is in a slot of its window, in the step's
	// order.
	images, count, order := whole(set.images), set.N, n.order()
	if set.Streamed() {
		images, count, order = set.slotRange(set.window, slot), n.Batch, whole(set.sequence)
	}
	if set.inputs != nil {
		if err := n.recordInputs(rec, set); err != nil {
			return err
		}
	} else if err := kernels.Augment(ctx, rec, kernels.AugmentArgs{Images: images, N: count, Geometry: g, Order: order,
		Affines: n.affines(), Out: whole(n.acts[0]), Batch: n.Batch, Sampling: warp, Norm: set.Norm}); err != nil {
		return err
	}
	if err := n.mark(rec, "augment", 0, float64(n.Batch*g.Values()*(1+4))); err != nil {
		return err
	}
	outs, err := n.forward(rec, mode)
	if err != nil {
		return err
	}
	last := len(n.Model.Layers)
	smoothing := n.smoothing // the training loss's; validation's is plain
	if mode == ModeEval {
		smoothing = 0
	}
	xent := kernels.SoftmaxXentArgs{Logits: outs[last], Labels: whole(set.labels), Step: n.header(), Order: n.order(),
		DZ: n.dacts[last], Stats: whole(n.stats), LabelErrors: whole(n.labelErrors), Batch: n.Batch, Classes: n.Model.Classes, Smoothing: smoothing}
	if err := kernels.SoftmaxXent(ctx, rec, xent); err != nil {
		return err
	}
	if err := kernels.Accumulate(ctx, rec, whole(n.stats), n.header(), whole(n.totals)); err != nil {
		return err
	}
	if err := n.mark(rec, "softmax/cross-entropy", 0, float64(4*2*n.Batch*n.Model.Classes)); err != nil {
		return err
	}
	if mode == ModeEval {
		return nil
	}
	if err := n.backward(rec, mode, outs); err != nil || mode == ModeGradient {
		return err
	}
	return n.recordUpdate(rec)
}

// mark times the work recorded since the last mark, when profiling: label
// names it, flops and bytes say how much it computes and moves (for
// rates; bytes count only where flops are zero).
func (n *Net) mark(rec *vk.Recording, label string, flops, bytes float64) error {
	if !n.profile {
		return nil
	}
	if _, err := rec.Timestamp(); err != nil {
		return err
	}
	n.marks[rec] = append(n.marks[rec], KernelTime{Label: label, FLOPs: flops, Bytes: bytes})
	return nil
}

// forward records every layer and returns the range holding each
// tensor's values (outs[0] is the input, outs[len] the logits).
func (n *Net) forward(rec *vk.Recording, mode Mode) ([]vk.Range, error) {
	outs := make([]vk.Range, len(n.Model.Layers)+1)
	outs[0] = whole(n.acts[0])
	for i, l := range n.Model.Layers {
		p := &pass{n: n, rec: rec, l: l, mode: mode, own: n.own[i], out: whole(n.acts[i+1])}
		for _, t := range l.Inputs {
			p.ins = append(p.ins, outs[t])
		}
		p.in = p.ins[0]
		err := l.rec.forward(p)
		// A layer that passes its input on records nothing to time.
		if err == nil && p.out != p.in {
			err = p.mark("forward")
		}
		if err != nil {
			return nil, fmt.Errorf("%s forward: %w", l.Spec.Name, err)
		}
		outs[i+1] = p.out
	}
	return outs, nil
}

// backward records the gradients of every layer, last to first, into the
// gradient vector (laid out as the weights' trainable prefix), and the
// gradients of the tensors, each the sum of its readers' parts.
func (n *Net) backward(rec *vk.Recording, mode Mode, outs []vk.Range) error {
	for i := len(n.Model.Layers) - 1; i >= 0; i-- {
		l := n.Model.Layers[i]
		p := &pass{n: n, rec: rec, l: l, mode: mode, own: n.own[i], out: outs[i+1], dOut: n.dacts[i+1], backward: true}
		scratch := 0
		for k, t := range l.Inputs {
			r := n.routes[i][k]
			p.ins = append(p.ins, outs[t])
			p.dIns = append(p.dIns, n.inputGradient(r, t, p.dOut, scratch))
			if r == addSum {
				scratch++
			}
		}
		p.in, p.dIn = p.ins[0], p.dIns[0]
		err := l.rec.backward(p)
		summed := 0.0 // bytes read and written
		for k, t := range l.Inputs {
			if r := n.routes[i][k]; err == nil && r > direct {
				err = n.sumGradient(rec, r, p.dIns[k], n.dacts[t])
				summed += 3 * float64(n.dacts[t].Size)
			}
		}
		if err == nil && summed > 0 {
			err = n.mark(rec, l.Spec.Name+" gradient sum", 0, summed)
		}
		if err != nil {
			return fmt.Errorf("%s backward: %w", l.Spec.Name, err)
		}
	}
	return nil
}

// inputGradient is where a layer writes the gradient of its input t by
// route r, given its output gradient dOut and, for addSum, the sum
// scratch it takes.
func (n *Net) inputGradient(r route, t int, dOut vk.Range, scratch int) vk.Range {
	switch r {
	case direct:
		return n.dacts[t]
	case copyOwn, addOwn:
		return dOut
	case addSum:
		return vk.Range{Buf: n.sumScratch[scratch], Size: n.dacts[t].Size}
	}
	return vk.Range{}
}

// sumGradient brings a layer's part of a tensor's gradient, written to
// part by route r, to the tensor's gradient to.
func (n *Net) sumGradient(rec *vk.Recording, r route, part, to vk.Range) error {
	floats := int(to.Size / 4)
	switch r {
	case copyOwn:
		return kernels.Scale(n.ctx, rec, part, to, floats, 1)
	case addOwn, addSum:
		return kernels.Add(n.ctx, rec, to, part, to, floats)
	}
	return nil
}

// recordedProduct is a GEMM-shaped product a recording holds, named as
// Products names it.
type recordedProduct struct {
	name    string
	product kernels.Product
}

// Products lists the GEMM-shaped launches of a training step of m at a
// batch size, each under the name of its layer and pass, without their
// variants: what `vkcnn tune` measures.
func Products(m *Model, batch int) (names []string, products []kernels.Product) {
	for _, l := range m.Layers {
		for _, p := range l.rec.products(batch, l.Inputs[0] == 0) {
			names = append(names, l.Spec.Name+" "+p.pass)
			products = append(products, p.Product)
		}
	}
	return names, products
}

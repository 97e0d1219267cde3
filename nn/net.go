package nn

import (
	"errors"
	"fmt"

	"vkcnn/augment"
	"vkcnn/nn/kernels"
	"vkcnn/vk"
)

// Adam's constants, as Keras 2.0 sets them.
const (
	AdamBeta1   = 0.9
	AdamBeta2   = 0.999
	AdamEpsilon = 1e-8
)

// Net is a model on a device at a fixed batch size, with every buffer
// training and evaluation need, allocated once. A training step is one
// recorded command buffer run with the per-step values (batch indices,
// transforms, step counter, learning rate) written to a mapped buffer.
type Net struct {
	Model  *Model
	Batch  int
	Tuning kernels.Tuning

	ctx                         *vk.Context
	params, grads, adamM, adamV *vk.Buffer
	acts, dacts                 []*vk.Buffer // by layer boundary: acts[0] is the input, dacts[0] unused
	kernelT                     []*vk.Buffer // transposed conv kernels, by layer
	step                        *vk.Buffer   // header, batch order, affines
	// stepUpload holds the step's values on the host where the step
	// buffer is not mapped; each recording starts by copying it over.
	stepUpload                  *vk.Buffer
	orderOffset, affineOffset   int64
	stats, totals               *vk.Buffer
	labelErrors                 *vk.Buffer // mapped: samples with a label outside the classes
	colSumScratch, splitScratch *vk.Buffer
	owned                       []*vk.Buffer
	recordings                  map[recordingKey]*vk.Recording
	// With profile set, recordings time every kernel; marks names the
	// timestamps of each recording.
	profile bool
	marks   map[*vk.Recording][]KernelTime
	// last is the recording the last step ran.
	last *vk.Recording
	// identity holds the affines of an unaugmented batch, made once.
	identity []float32
	// planned counts the bytes allocate would take when ctx is nil: the
	// memory estimate walks the very code that allocates.
	planned int64
}

type recordingKey struct {
	set     *DeviceSet
	mode    Mode
	warp    augment.Sampling
	profile bool
}

// Mode is what a step does.
type Mode int

const (
	// ModeTrain runs forward, loss, backward and Adam.
	ModeTrain Mode = iota
	// ModeGradient runs forward (dropout on), loss and backward, leaving the
	// parameters alone: for gradient checks.
	ModeGradient
	// ModeEval runs forward (dropout off) and the loss.
	ModeEval
)

// DeviceSet is a data set resident on the device: uint8 images (28x28
// each, row-major) and uint8 labels.
type DeviceSet struct {
	N              int
	images, labels *vk.Buffer
	net            *Net
}

// NewNet allocates the network's buffers on ctx. The parameters start at
// params (from Model.Init or a checkpoint).
func NewNet(ctx *vk.Context, m *Model, batch int, tuning kernels.Tuning, params []float32) (*Net, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("batch size %d must be positive", batch)
	}
	if in := m.Input(); in != (Shape{28, 28, 1}) {
		return nil, fmt.Errorf("input shape %v: vkcnn feeds 28x28x1 MNIST images", in)
	}
	if len(params) != m.ParamFloats {
		return nil, fmt.Errorf("%d parameters given, the model has %d", len(params), m.ParamFloats)
	}
	need := EstimateBytes(m, batch, tuning) + DataBytes(60000+10000)
	if have := int64(ctx.Info.DeviceLocalBytes); have > 0 && need > have {
		return nil, fmt.Errorf("%s at batch size %d needs about %s of device memory with MNIST, the device has %s: %s",
			m.Spec.Name, batch, mib(need), mib(have), largestBatch(m, tuning, have))
	}
	n := &Net{Model: m, Batch: batch, Tuning: tuning, ctx: ctx, recordings: map[recordingKey]*vk.Recording{}}
	if err := n.allocate(params); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Net) newBuffer(floats int, host bool) (*vk.Buffer, error) {
	if n.ctx == nil {
		if !host {
			n.planned += (4*int64(floats) + 15) &^ 15
		}
		return nil, nil
	}
	var b *vk.Buffer
	var err error
	if host {
		b, err = n.ctx.NewHostBuffer(4 * int64(floats))
	} else {
		b, err = n.ctx.NewBuffer(4 * int64(floats))
	}
	if err != nil {
		return nil, err
	}
	n.owned = append(n.owned, b)
	return b, nil
}

func (n *Net) allocate(params []float32) error {
	var err error
	var zeros []float32
	if n.ctx != nil {
		zeros = make([]float32, n.Model.ParamFloats)
	}
	for _, dst := range []**vk.Buffer{&n.params, &n.grads, &n.adamM, &n.adamV} {
		if *dst, err = n.newBuffer(n.Model.ParamFloats, false); err != nil {
			return fmt.Errorf("allocate parameters: %w", err)
		}
		if *dst != nil {
			if err := (*dst).WriteFloat32(0, zeros); err != nil {
				return err
			}
		}
	}
	if n.params != nil {
		if err := n.params.WriteFloat32(0, params); err != nil {
			return err
		}
	}
	layers := n.Model.Layers
	n.acts = make([]*vk.Buffer, len(layers)+1)
	n.dacts = make([]*vk.Buffer, len(layers)+1)
	n.kernelT = make([]*vk.Buffer, len(layers))
	if n.acts[0], err = n.newBuffer(n.Batch*n.Model.Input().Size(), false); err != nil {
		return err
	}
	for i, l := range layers {
		if l.Spec.Type == "flatten" {
			n.acts[i+1] = n.acts[i]
		} else if n.acts[i+1], err = n.newBuffer(n.Batch*l.Out.Size(), false); err != nil {
			return err
		}
	}
	if n.dacts[len(layers)], err = n.newBuffer(n.Batch*n.Model.Classes, false); err != nil {
		return err
	}
	for i := len(layers) - 1; i >= 1; i-- {
		l := layers[i]
		// Flatten and ReLU pass the gradient through in place.
		if l.Spec.Type == "flatten" || l.Spec.Type == "relu" {
			n.dacts[i] = n.dacts[i+1]
		} else if n.dacts[i], err = n.newBuffer(n.Batch*l.In.Size(), false); err != nil {
			return err
		}
		if l.Spec.Type == "conv2d" {
			if n.kernelT[i], err = n.newBuffer(l.Kernel.Size(), false); err != nil {
				return err
			}
		}
	}
	// The step buffer: header, then the batch order and the affines, each
	// at an offset every device's storage alignment accepts.
	const align = 256
	n.orderOffset = align
	n.affineOffset = n.orderOffset + (4*int64(n.Batch)+align-1)/align*align
	stepFloats := int(n.affineOffset/4) + 6*n.Batch
	if n.step, err = n.newBuffer(stepFloats, false); err != nil {
		return err
	}
	if n.step != nil && !n.step.Mapped() {
		if n.stepUpload, err = n.newBuffer(stepFloats, true); err != nil {
			return err
		}
	}
	scratch, split := 1, 1
	for _, l := range layers {
		if l.Bias != nil {
			scratch = max(scratch, kernels.ColSumScratch(n.Batch*l.Out.H*l.Out.W, l.Out.C))
		}
		switch l.Spec.Type {
		case "conv2d":
			split = max(split, n.conv(l).FilterScratch())
		case "dense":
			for _, g := range []kernels.Gemm{denseForward(l, n.Batch), denseKernelGrad(l, n.Batch), denseInputGrad(l, n.Batch)} {
				split = max(split, n.Tuning.Gemm(g).SplitScratch())
			}
		}
	}
	if n.splitScratch, err = n.newBuffer(split, false); err != nil {
		return err
	}
	if n.colSumScratch, err = n.newBuffer(scratch, false); err != nil {
		return err
	}
	if n.stats, err = n.newBuffer(3*n.Batch, false); err != nil {
		return err
	}
	if n.totals, err = n.newBuffer(4, true); err != nil {
		return err
	}
	if n.labelErrors, err = n.newBuffer(1, true); err != nil || n.ctx == nil {
		return err
	}
	return n.labelErrors.WriteUint32(0, []uint32{0})
}

// EstimateBytes is the device memory a network of the model takes at a
// batch size with the kernels tuning chooses (their split scratch counts),
// without data sets.
func EstimateBytes(m *Model, batch int, tuning kernels.Tuning) int64 {
	n := &Net{Model: m, Batch: batch, Tuning: tuning}
	_ = n.allocate(nil) // cannot fail without a device
	return n.planned
}

// DataBytes is the device memory of a data set of n MNIST samples.
func DataBytes(n int) int64 {
	return (int64(n)*28*28+15)&^15 + (int64(n)+15)&^15
}

func mib(bytes int64) string {
	return fmt.Sprintf("%.0f MiB", float64(bytes)/(1<<20))
}

// largestBatch says which batch size fits in have bytes.
func largestBatch(m *Model, tuning kernels.Tuning, have int64) string {
	data := DataBytes(70000)
	if EstimateBytes(m, 1, tuning)+data > have {
		return "even batch size 1 does not fit"
	}
	lo, hi := 1, 1
	for EstimateBytes(m, hi*2, tuning)+data <= have && hi < 1<<20 {
		hi *= 2
	}
	lo, hi = hi, hi*2
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if EstimateBytes(m, mid, tuning)+data <= have {
			lo = mid
		} else {
			hi = mid
		}
	}
	return fmt.Sprintf("the largest batch size that fits is %d", lo)
}

// Close frees every buffer and recording.
func (n *Net) Close() {
	for _, r := range n.recordings {
		r.Close()
	}
	n.recordings = nil
	for _, b := range n.owned {
		b.Close()
	}
	n.owned = nil
}

// Upload puts a data set on the device.
func (n *Net) Upload(images []byte, labels []uint8) (*DeviceSet, error) {
	const pixels = 28 * 28
	if len(labels) == 0 || len(images) != pixels*len(labels) {
		return nil, fmt.Errorf("upload: %d image bytes for %d labels", len(images), len(labels))
	}
	s := &DeviceSet{N: len(labels), net: n}
	var err error
	if s.images, err = n.ctx.NewBuffer(int64(len(images))); err != nil {
		return nil, fmt.Errorf("upload images: %w", err)
	}
	n.owned = append(n.owned, s.images)
	if s.labels, err = n.ctx.NewBuffer(int64(len(labels))); err != nil {
		return nil, fmt.Errorf("upload labels: %w", err)
	}
	n.owned = append(n.owned, s.labels)
	if err := errors.Join(s.images.Write(0, images), s.labels.Write(0, labels)); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return s, nil
}

func whole(b *vk.Buffer) vk.Range { return vk.Whole(b) }

func (n *Net) paramRange(b *vk.Buffer, p *Param) vk.Range {
	return vk.Range{Buf: b, Offset: 4 * int64(p.Offset), Size: 4 * int64(p.Size())}
}

func (n *Net) header() vk.Range {
	return vk.Range{Buf: n.step, Offset: 0, Size: 4 * kernels.StepWords}
}

func (n *Net) order() vk.Range {
	return vk.Range{Buf: n.step, Offset: n.orderOffset, Size: 4 * int64(n.Batch)}
}

func (n *Net) affines() vk.Range {
	return vk.Range{Buf: n.step, Offset: n.affineOffset, Size: 4 * 6 * int64(n.Batch)}
}

// recording returns the training or evaluation step on set, recorded on
// first use.
func (n *Net) recording(set *DeviceSet, mode Mode, warp augment.Sampling) (*vk.Recording, error) {
	key := recordingKey{set, mode, warp, n.profile}
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
	if err == nil && n.stepUpload != nil {
		err = rec.Copy(whole(n.stepUpload), whole(n.step))
	}
	if err == nil {
		err = n.record(rec, set, mode, key.warp)
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
// counters, then as the mode says backward and Adam.
func (n *Net) record(rec *vk.Recording, set *DeviceSet, mode Mode, warp augment.Sampling) error {
	ctx := n.ctx
	if err := kernels.Augment(ctx, rec, whole(set.images), n.order(), 0, n.affines(), whole(n.acts[0]), n.Batch, warp); err != nil {
		return err
	}
	if err := n.mark(rec, "augment", 0, float64(n.Batch*28*28*(1+4))); err != nil {
		return err
	}
	outs, err := n.forward(rec, mode != ModeEval)
	if err != nil {
		return err
	}
	last := len(n.Model.Layers)
	if err := kernels.SoftmaxXent(ctx, rec, outs[last], whole(set.labels), n.header(), n.order(), whole(n.dacts[last]), whole(n.stats), whole(n.labelErrors), n.Batch, n.Model.Classes); err != nil {
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
	if err := n.backward(rec, outs); err != nil || mode == ModeGradient {
		return err
	}
	if err := kernels.Adam(ctx, rec, whole(n.params), whole(n.grads), whole(n.adamM), whole(n.adamV), n.header(), n.Model.ParamFloats, AdamBeta1, AdamBeta2, AdamEpsilon); err != nil {
		return err
	}
	// Adam reads parameters, gradients and both moments, and writes three.
	return n.mark(rec, "adam", 0, 7*4*float64(n.Model.ParamFloats))
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

// forward records every layer and returns the range holding each layer
// boundary's values (outs[0] is the input, outs[len] the logits).
func (n *Net) forward(rec *vk.Recording, train bool) ([]vk.Range, error) {
	ctx := n.ctx
	outs := make([]vk.Range, len(n.Model.Layers)+1)
	outs[0] = whole(n.acts[0])
	for i, l := range n.Model.Layers {
		in, out := outs[i], whole(n.acts[i+1])
		var err error
		var flops float64
		switch l.Spec.Type {
		case "conv2d":
			c := n.Tuning.Conv(n.conv(l), kernels.ConvForward)
			flops = c.FLOPs()
			err = c.Forward(ctx, rec, in, n.paramRange(n.params, l.Kernel), out, n.paramRange(n.params, l.Bias))
		case "dense":
			g := n.Tuning.Gemm(denseForward(l, n.Batch))
			flops = g.FLOPs()
			err = g.Record(ctx, rec, in, n.paramRange(n.params, l.Kernel), out, n.paramRange(n.params, l.Bias), whole(n.splitScratch))
		case "maxpool2d":
			err = kernels.MaxPool(ctx, rec, in, out, n.Batch, l.In.H, l.In.W, l.In.C)
		case "relu":
			err = kernels.ReLU(ctx, rec, in, out, n.Batch*l.In.Size())
		case "dropout":
			if train && l.Spec.Rate > 0 {
				err = kernels.Dropout(ctx, rec, in, out, n.header(), n.Batch*l.In.Size(), float32(l.Spec.Rate))
			} else {
				out = in
			}
		case "flatten":
			out = in
		}
		if err == nil && l.Spec.Type != "flatten" {
			err = n.mark(rec, l.Spec.Name+" forward", flops, 4*float64(n.Batch*(l.In.Size()+l.Out.Size())))
		}
		if err != nil {
			return nil, fmt.Errorf("%s forward: %w", l.Spec.Name, err)
		}
		outs[i+1] = out
	}
	return outs, nil
}

func (n *Net) conv(l *Layer) kernels.Conv { return convOf(l, n.Batch) }

// convOf is a conv2d layer's convolution at a batch size, its variant
// not yet chosen.
func convOf(l *Layer, batch int) kernels.Conv {
	k := l.Spec.KernelSize
	return kernels.Conv{Batch: batch, H: l.In.H, W: l.In.W, Cin: l.In.C, Cout: l.Out.C, KH: k, KW: k, Bias: true, ReLU: l.ReLU}
}

// The products of a dense layer: forward, kernel gradient and input
// gradient.
func denseForward(l *Layer, batch int) kernels.Gemm {
	return kernels.Gemm{M: batch, N: l.Out.C, K: l.In.Size(), Bias: true, ReLU: l.ReLU}
}

func denseKernelGrad(l *Layer, batch int) kernels.Gemm {
	return kernels.Gemm{M: l.In.Size(), N: l.Out.C, K: batch, TransA: true}
}

func denseInputGrad(l *Layer, batch int) kernels.Gemm {
	return kernels.Gemm{M: batch, N: l.In.Size(), K: l.Out.C, TransB: true}
}

// Products lists the GEMM-shaped launches of a training step of m at a
// batch size, each under the name of its layer and pass, without their
// variants: what `vkcnn tune` measures.
func Products(m *Model, batch int) (names []string, products []kernels.Product) {
	add := func(name string, p kernels.Product) {
		names = append(names, name)
		products = append(products, p)
	}
	for i, l := range m.Layers {
		switch l.Spec.Type {
		case "conv2d":
			c := convOf(l, batch)
			add(l.Spec.Name+" forward", kernels.Product{Conv: &c, Pass: kernels.ConvForward})
			add(l.Spec.Name+" backward-filter", kernels.Product{Conv: &c, Pass: kernels.ConvBackwardFilter})
			if i > 0 {
				add(l.Spec.Name+" backward-data", kernels.Product{Conv: &c, Pass: kernels.ConvBackwardData})
			}
		case "dense":
			f, kg, ig := denseForward(l, batch), denseKernelGrad(l, batch), denseInputGrad(l, batch)
			add(l.Spec.Name+" forward", kernels.Product{Gemm: &f})
			add(l.Spec.Name+" kernel gradient", kernels.Product{Gemm: &kg})
			if i > 0 {
				add(l.Spec.Name+" input gradient", kernels.Product{Gemm: &ig})
			}
		}
	}
	return names, products
}

// backward records the gradients of every layer, last to first, into the
// gradient vector (same layout as the parameters).
func (n *Net) backward(rec *vk.Recording, outs []vk.Range) error {
	ctx := n.ctx
	for i := len(n.Model.Layers) - 1; i >= 0; i-- {
		l := n.Model.Layers[i]
		in, out, dOut := outs[i], outs[i+1], whole(n.dacts[i+1])
		needIn := i > 0
		var dIn vk.Range
		if needIn {
			dIn = whole(n.dacts[i])
		}
		var err error
		var flops float64
		bytes := 4 * float64(n.Batch*(l.In.Size()+2*l.Out.Size())) // read out and dOut, write dIn
		// recorded says whether the layer's part has work to mark (a conv
		// marks its two parts itself).
		recorded := l.ReLU || l.Spec.Type == "dense" || (needIn && (l.Spec.Type == "maxpool2d" || l.Spec.Type == "dropout"))
		if l.ReLU {
			err = kernels.ReLUBackward(ctx, rec, out, dOut, n.Batch*l.Out.Size())
		}
		switch l.Spec.Type {
		case "conv2d":
			c := n.conv(l)
			err = errors.Join(err,
				n.Tuning.Conv(c, kernels.ConvBackwardFilter).BackwardFilter(ctx, rec, in, dOut, n.paramRange(n.grads, l.Kernel), whole(n.splitScratch)),
				kernels.ColSum(ctx, rec, dOut, n.paramRange(n.grads, l.Bias), whole(n.colSumScratch), n.Batch*l.Out.H*l.Out.W, l.Out.C))
			if err == nil {
				err = n.mark(rec, l.Spec.Name+" backward-filter", c.FLOPs(), 0)
			}
			if needIn && err == nil {
				err = errors.Join(
					kernels.TransposeKernel(ctx, rec, n.paramRange(n.params, l.Kernel), whole(n.kernelT[i]), c.KH*c.KW, c.Cin, c.Cout),
					n.Tuning.Conv(c, kernels.ConvBackwardData).BackwardData(ctx, rec, dOut, whole(n.kernelT[i]), dIn))
				if err == nil {
					err = n.mark(rec, l.Spec.Name+" backward-data", c.FLOPs(), 0)
				}
			}
		case "dense":
			dW := n.Tuning.Gemm(denseKernelGrad(l, n.Batch))
			flops = 2 * dW.FLOPs()
			err = errors.Join(err,
				dW.Record(ctx, rec, in, dOut, n.paramRange(n.grads, l.Kernel), vk.Range{}, whole(n.splitScratch)),
				kernels.ColSum(ctx, rec, dOut, n.paramRange(n.grads, l.Bias), whole(n.colSumScratch), n.Batch, l.Out.C))
			if needIn && err == nil {
				dX := n.Tuning.Gemm(denseInputGrad(l, n.Batch))
				err = dX.Record(ctx, rec, dOut, n.paramRange(n.params, l.Kernel), dIn, vk.Range{}, whole(n.splitScratch))
			}
		case "maxpool2d":
			if needIn {
				err = kernels.MaxPoolBackward(ctx, rec, in, dOut, dIn, n.Batch, l.In.H, l.In.W, l.In.C)
			}
		case "dropout":
			if needIn && l.Spec.Rate > 0 {
				err = kernels.Dropout(ctx, rec, dOut, dIn, n.header(), n.Batch*l.In.Size(), float32(l.Spec.Rate))
			} else if needIn {
				err = kernels.Scale(ctx, rec, dOut, dIn, n.Batch*l.In.Size(), 1)
			}
		}
		if err == nil && recorded && l.Spec.Type != "conv2d" {
			err = n.mark(rec, l.Spec.Name+" backward", flops, bytes)
		}
		if err != nil {
			return fmt.Errorf("%s backward: %w", l.Spec.Name, err)
		}
	}
	return nil
}

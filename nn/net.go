package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// Adam's constants, as Keras 2.0 sets them.
const (
	AdamBeta1   = 0.9
	AdamBeta2   = 0.999
	AdamEpsilon = 1e-8
)

// Net is a model on a device at a fixed batch size, with every buffer
// training and evaluation need, allocated once. A training step is one
// recorded command buffer run with what changes from step to step (batch
// indices, transforms, counter, learning rate) written to the slot, a
// buffer of its own.
type Net struct {
	Model  *Model
	Batch  int
	Tuning kernels.Tuning

	ctx *vk.Context
	// params holds the weight vector; grads the gradients of its prefix
	// that has them (GradientFloats); adamM and adamV the optimizer's state
	// of its trainable prefix: Adam's moments, SGD's momentum or RMSprop's
	// square average in adamM.
	params, grads, adamM, adamV *vk.Buffer
	// acts hold each tensor's values (acts[0] the input, acts[i+1] layer
	// i's output); dacts their gradients (dacts[0] unset), in buffers
	// that tensors share (see plan); sumScratch a layer's parts of
	// gradients that several layers add up, routes where each layer's
	// input gradients go.
	acts       []*vk.Buffer
	dacts      []vk.Range
	sumScratch []*vk.Buffer
	routes     [][]route
	own        [][]*vk.Buffer // each layer's buffers of its own
	slot       *vk.Buffer     // header, batch order, affines
	// slotUpload holds the slot's values on the host where the slot is
	// not mapped; each recording starts by copying it over.
	slotUpload                  *vk.Buffer
	orderOffset, affineOffset   int64
	stats, totals               *vk.Buffer
	labelErrors                 *vk.Buffer // mapped: samples with a label outside the classes
	colSumScratch, splitScratch *vk.Buffer
	owned                       []*vk.Buffer
	recordings                  map[recordingKey]*vk.Recording
	// recorded are the GEMM-shaped products recorded so far, by name.
	recorded []recordedProduct
	// With profile set, recordings time every kernel; marks names the
	// timestamps of each recording.
	profile bool
	marks   map[*vk.Recording][]KernelTime
	// samples is how many images the data sets hold in all (NewNet's),
	// which the memory checks count.
	samples int
	// optimizer is what training steps update with (SetOptimizer), and
	// decayMask its weight decay's mask, made where it decays.
	optimizer Optimizer
	decayMask *vk.Buffer
	// smoothing is the training loss's label smoothing (SetLabelSmoothing).
	smoothing float32
	// normScratch and clip (the norm and the scale) are gradient
	// clipping's, made where the optimizer clips.
	normScratch, clip *vk.Buffer
	// last is the recording the last step ran.
	last *vk.Recording
	// identity holds the affines of an unaugmented batch, made once.
	identity []float32
}

type recordingKey struct {
	set     *DeviceSet
	mode    Mode
	warp    augment.Sampling
	profile bool
	slot    int // the ring slot a streamed set's step reads
}

// Mode is what a step does.
type Mode int

const (
	// ModeTrain runs forward, loss, backward and Adam; batch
	// normalization moves its moving statistics.
	ModeTrain Mode = iota
	// ModeGradient runs forward (dropout on, batch statistics), loss and
	// backward, leaving the weights alone: for gradient checks.
	ModeGradient
	// ModeEval runs forward (dropout off, moving statistics) and the loss.
	ModeEval
)

// DeviceSet is a data set resident on the device: uint8 images (of the
// model's input shape, HWC) and uint8 labels.
type DeviceSet struct {
	N              int
	images, labels *vk.Buffer
	// Norm, set before the set's first step, normalizes its images as
	// they are fed (nil: values in [0, 1]).
	Norm *augment.Normalization
	// A streamed set's images on the host; the window on the device,
	// a ring of ringSlots batches of batchBytes (slotBytes apart), they
	// are copied to (through windowUpload where the window is not
	// mapped), and the order each slot holds (nil: none); the order 0,
	// 1, ... the shader reads a slot in (UploadStreamed).
	host                           []byte
	window, windowUpload, sequence *vk.Buffer
	batchBytes, slotBytes          int64
	held                           [ringSlots][]uint32
	// An input set's float32 values, which steps copy to the first
	// layer's input (UploadInputs).
	inputs *vk.Buffer
}

// memoryError is a network that does not fit in the device's memory: it
// matches vk.ErrOutOfDeviceMemory, as an allocation that fails does.
type memoryError string

func (e memoryError) Error() string        { return string(e) }
func (e memoryError) Is(target error) bool { return target == vk.ErrOutOfDeviceMemory }

// NewNet allocates the network's buffers on ctx. The weights start at
// params (from Model.Init or a checkpoint). samples is how many images the
// data sets it will hold have in all: the memory check counts them.
func NewNet(ctx *vk.Context, m *Model, batch int, tuning kernels.Tuning, params []float32, samples int) (*Net, error) {
	return newNet(ctx, m, batch, tuning, params, samples, true)
}

// newNet is NewNet; without share, every tensor's gradient has a buffer
// of its own, which a test may read after the step.
func newNet(ctx *vk.Context, m *Model, batch int, tuning kernels.Tuning, params []float32, samples int, share bool) (*Net, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("batch size %d must be positive", batch)
	}
	if len(params) != m.ParamFloats {
		return nil, fmt.Errorf("%d parameters given, the model has %d", len(params), m.ParamFloats)
	}
	p := newPlan(m, batch, tuning, share)
	data := DataBytes(m.Input(), samples)
	need, with := p.deviceBytes()+data, dataNote(m, samples)
	switch have := int64(ctx.Info.DeviceLocalBytes); {
	case have == 0:
		ctx.Warn(fmt.Errorf("the device reports no size for its memory: the %s %s needs at batch size %d%s could not be checked against it",
			numfmt.Bytes(need), m.Spec.Name, batch, with))
	case need > have:
		return nil, tooBig(m, batch, "", need, with, have, func(batch int) bool {
			return EstimateBytes(m, batch, tuning, Optimizer{})+data <= have
		})
	}
	if err := rangeError(ctx.Info, m, batch, tuning); err != nil {
		return nil, fmt.Errorf("%s at batch size %d: %w: %s", m.Spec.Name, batch, err, largestBatch(func(batch int) bool {
			return rangeError(ctx.Info, m, batch, tuning) == nil
		}))
	}
	n := &Net{Model: m, Batch: batch, Tuning: tuning, ctx: ctx, samples: samples, recordings: map[recordingKey]*vk.Recording{}}
	if err := n.allocate(p, params); err != nil {
		n.Close()
		if errors.Is(err, vk.ErrOutOfDeviceMemory) {
			err = fmt.Errorf("%s at batch size %d: %w, of the %s the estimate said it needs%s (another program may hold device memory; a smaller batch size needs less)",
				m.Spec.Name, batch, err, numfmt.Bytes(need), with)
		}
		return nil, err
	}
	return n, nil
}

// dataNote is what a memory figure counts besides the network: its data
// sets of samples images, if any.
func dataNote(m *Model, samples int) string {
	if samples == 0 {
		return ""
	}
	return fmt.Sprintf(" with its data (%s images of %v, %s)", numfmt.Commas(samples), m.Input().Geometry(), numfmt.Bytes(DataBytes(m.Input(), samples)))
}

// tooBig is the refusal of a network (training with, where not empty) at
// a batch size that needs need bytes (with: and what else), past the
// device's have; fits says whether a batch size fits.
func tooBig(m *Model, batch int, training string, need int64, with string, have int64, fits func(batch int) bool) error {
	return memoryError(fmt.Sprintf("%s at batch size %d%s needs about %s of device memory%s, the device has %s: %s",
		m.Spec.Name, batch, training, numfmt.Bytes(need), with, numfmt.Bytes(have), largestBatch(fits)))
}

// checkMemory refuses an optimizer whose buffers (EstimateBytes) do not
// fit in the device's memory beside the network and its data.
func (n *Net) checkMemory(o Optimizer) error {
	have := int64(n.ctx.Info.DeviceLocalBytes)
	data := DataBytes(n.Model.Input(), n.samples)
	need := EstimateBytes(n.Model, n.Batch, n.Tuning, o) + data
	if have == 0 || need <= have {
		return nil
	}
	return tooBig(n.Model, n.Batch, " training with "+o.Name, need, dataNote(n.Model, n.samples), have, func(batch int) bool {
		return EstimateBytes(n.Model, batch, n.Tuning, o)+data <= have
	})
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

// Upload puts a data set on the device: its images, of the model's input
// shape, a byte a value (HWC), and their labels.
func (n *Net) Upload(images []byte, labels []uint8) (*DeviceSet, error) {
	in := n.Model.Input()
	if len(labels) == 0 || len(images) != in.Size()*len(labels) {
		return nil, fmt.Errorf("upload: %d image bytes for %d labels of %dx%dx%d images", len(images), len(labels), in.H, in.W, in.C)
	}
	if err := kernels.CheckDataSet(n.ctx.Info, len(labels), in.Geometry()); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	s := &DeviceSet{N: len(labels)}
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

// Rewrite replaces a resident set's first images (a byte a value, HWC),
// so that a set allocated once takes batch after batch, as a predicting
// server does, with no new buffers or recordings.
func (s *DeviceSet) Rewrite(images []byte) error {
	if s.images == nil {
		return errors.New("rewrite: not a resident set of images")
	}
	if int64(len(images)) > s.images.Size() {
		return fmt.Errorf("rewrite: %d image bytes for a set of %d", len(images), s.images.Size())
	}
	return s.images.Write(0, images)
}

func whole(b *vk.Buffer) vk.Range { return vk.Whole(b) }

func (n *Net) paramRange(b *vk.Buffer, p *Param) vk.Range {
	return vk.Range{Buf: b, Offset: 4 * int64(p.Offset), Size: 4 * int64(p.Size())}
}

func (n *Net) header() vk.Range {
	return vk.Range{Buf: n.slot, Offset: 0, Size: 4 * kernels.StepWords}
}

func (n *Net) order() vk.Range {
	return vk.Range{Buf: n.slot, Offset: n.orderOffset, Size: 4 * int64(n.Batch)}
}

func (n *Net) affines() vk.Range {
	return vk.Range{Buf: n.slot, Offset: n.affineOffset, Size: 4 * 6 * int64(n.Batch)}
}

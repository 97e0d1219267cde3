package kernels

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/vk"
)

// The step buffer holds what changes from one training step to the next,
// written by the host before each submission so that a recording made
// once serves every step: the step counter, the dropout seed, the number
// of valid samples in the batch, the update's rate (Adam's bias-corrected
// one, else the scheduled one) and AdamW's step size, bias correction and
// decay factor. These index its words; shaders/step.glsl declares them for
// the shaders (TestStepHeader checks that the two agree).
const (
	StepCounter = iota
	StepSeed
	StepValid
	StepLR
	StepStepSize
	StepCorr2Sqrt
	StepDecay
	StepWords
)

// The fixed kernels of a training step.
var (
	// relu's y is read-write in its SPIR-V, for backward's in-place update.
	reluShader            = elementwiseShader("relu", "forward", []vk.Access{vk.Read, vk.ReadWrite}, 0, 0)
	reluBackwardShader    = elementwiseShader("relu", "backward", []vk.Access{vk.Read, vk.ReadWrite}, 0, 1)
	addReLUShader         = elementwiseShader("add_relu", "forward", []vk.Access{vk.Read, vk.Read, vk.Write, vk.Write}, 1, 0)
	addReLUBackwardShader = elementwiseShader("add_relu", "backward", []vk.Access{vk.Read, vk.Read, vk.Write, vk.Write}, 1, 1)
	maxPoolShader         = groupShader("maxpool", "forward", []vk.Access{vk.Read, vk.Read, vk.Write}, 4, 0)
	maxPoolBackwardShader = groupShader("maxpool", "backward", []vk.Access{vk.Read, vk.Read, vk.Write}, 4, 1)
	dropoutShader         = elementwiseShader("dropout", "", []vk.Access{vk.Read, vk.Write, vk.Read}, 1)
	softmaxXentShader     = groupShader("softmax_xent", "", []vk.Access{vk.Read, vk.Read, vk.Read, vk.Read, vk.Write, vk.Write, vk.ReadWrite}, 3)
	accumulateShader      = declare(shader{name: "accumulate", access: []vk.Access{vk.Read, vk.Read, vk.ReadWrite}})
	colSumPartsShader     = groupShader("colsum", "partial sums", []vk.Access{vk.Read, vk.Write}, 3, 0)
	colSumTotalShader     = groupShader("colsum", "totals", []vk.Access{vk.Read, vk.Write}, 3, 1)
	adamShader            = elementwiseShader("adam", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.ReadWrite, vk.Read}, 3)
)

// ReLU records y = max(0, x) over n elements.
func ReLU(ctx *vk.Context, rec *vk.Recording, x, y vk.Range, n int) error {
	return elementwise(ctx, rec, reluShader, n, []vk.Range{x, y}, nil, nil)
}

// ReLUBackward records dy[i] = 0 where the forward output y[i] <= 0, in
// place.
func ReLUBackward(ctx *vk.Context, rec *vk.Recording, y, dy vk.Range, n int) error {
	return elementwise(ctx, rec, reluBackwardShader, n, []vk.Range{y, dy}, nil, nil)
}

// AddReLU records z = max(x + y, 0) over n elements: an add layer and the
// ReLU after it in one pass.
func AddReLU(ctx *vk.Context, rec *vk.Recording, x, y, z vk.Range, n int) error {
	// Binding 3 is unused forward: z again.
	return elementwise(ctx, rec, addReLUShader, n, []vk.Range{x, y, z, z}, nil, []uint32{0})
}

// AddReLUBackward records the gradient of x + y where the forward output
// z = max(x + y, 0): dz where z > 0, else 0, into dx and, where dy is set,
// dy too, in one pass.
func AddReLUBackward(ctx *vk.Context, rec *vk.Recording, z, dz, dx, dy vk.Range, n int) error {
	two := uint32(1)
	if dy.Buf == nil {
		dy, two = dx, 0
	}
	return elementwise(ctx, rec, addReLUBackwardShader, n, []vk.Range{z, dz, dx, dy}, nil, []uint32{two})
}

// MaxPool records 2x2, stride-2 max pooling of NHWC in (batch x h x w x c).
func MaxPool(ctx *vk.Context, rec *vk.Recording, in, out vk.Range, batch, h, w, c int) error {
	outs := batch * (h / 2) * (w / 2) * c
	if err := errors.Join(needFloats("pool input", in, batch*h*w*c), needFloats("pool output", out, outs)); err != nil {
		return err
	}
	// Binding 1 is unused forward; any buffer will do.
	return pool(ctx, rec, maxPoolShader, batch, h, w, c, []sliced{{in, 4 * int64(h*w*c)}, {in, 4 * int64(h*w*c)}, {out, poolOutBytes(h, w, c)}})
}

// MaxPoolBackward records the input gradient of MaxPool: each window's
// gradient goes to its first maximum.
func MaxPoolBackward(ctx *vk.Context, rec *vk.Recording, in, dOut, dIn vk.Range, batch, h, w, c int) error {
	ins := batch * h * w * c
	if err := errors.Join(needFloats("pool input", in, ins), needFloats("pool output gradient", dOut, batch*(h/2)*(w/2)*c),
		needFloats("pool input gradient", dIn, ins)); err != nil {
		return err
	}
	return pool(ctx, rec, maxPoolBackwardShader, batch, h, w, c, []sliced{{in, 4 * int64(h*w*c)}, {dOut, poolOutBytes(h, w, c)}, {dIn, 4 * int64(h*w*c)}})
}

// Dropout records inverted dropout of n elements (forward: x -> y;
// backward: dy -> dx) with the mask hashed from the step buffer's seed and
// counter.
func Dropout(ctx *vk.Context, rec *vk.Recording, x, y, step vk.Range, n int, rate float32) error {
	if err := CheckDropoutRate(float64(rate)); err != nil {
		return err
	}
	return elementwise(ctx, rec, dropoutShader, n, []vk.Range{x, y}, []vk.Range{step}, []uint32{math.Float32bits(rate)})
}

// CheckDropoutRate rejects a rate the dropout kernel cannot apply: it
// drops elements with probability rate and scales the others by
// 1/(1 - rate).
func CheckDropoutRate(rate float64) error {
	if !(rate >= 0 && rate < 1) {
		return fmt.Errorf("dropout rate %g outside [0, 1)", rate)
	}
	return nil
}

// SoftmaxXentArgs are what SoftmaxXent reads (Logits, Labels, Step, Order)
// and writes (DZ, Stats, LabelErrors).
type SoftmaxXentArgs struct {
	Logits, Labels, Step, Order vk.Range
	DZ, Stats, LabelErrors      vk.Range
	Batch, Classes              int
	Smoothing                   float32
}

// SoftmaxXent records the fused softmax and cross-entropy of a.Batch rows
// of Logits: the logits' gradient DZ, already divided by the number of
// valid samples, and per-sample Stats (loss, correct, argmax). Labels
// holds the whole set's uint8 labels and Order the batch's indices into
// it. A valid sample whose label is not below Classes adds 1 to the uint32
// in LabelErrors (which the caller zeroes and reads) and counts as class
// Classes-1: no label makes the kernel read outside the sample's row.
// Smoothing is the label smoothing (PyTorch's CrossEntropyLoss's
// label_smoothing), in [0, 1].
func SoftmaxXent(ctx *vk.Context, rec *vk.Recording, a SoftmaxXentArgs) error {
	batch, classes := a.Batch, a.Classes
	if classes <= 0 {
		return fmt.Errorf("softmax: %d classes", classes)
	}
	if err := CheckLabelSmoothing(float64(a.Smoothing)); err != nil {
		return err
	}
	if err := errors.Join(needFloats("logits", a.Logits, batch*classes), needFloats("logits gradient", a.DZ, batch*classes),
		needFloats("stats", a.Stats, 3*batch), needFloats("batch order", a.Order, batch), needFloats("step", a.Step, StepWords),
		needFloats("label errors", a.LabelErrors, 1)); err != nil {
		return err
	}
	return single(ctx, rec, softmaxXentShader, batch,
		[]uint32{uint32(batch), uint32(classes), math.Float32bits(a.Smoothing)}, []vk.Range{a.Logits, a.Labels, a.Step, a.Order, a.DZ, a.Stats, a.LabelErrors})
}

// CheckLabelSmoothing rejects a label smoothing outside [0, 1].
func CheckLabelSmoothing(e float64) error {
	if !(e >= 0 && e <= 1) {
		return fmt.Errorf("label smoothing %g outside [0, 1]", e)
	}
	return nil
}

// Totals are the running loss and accuracy counters that Accumulate adds
// each batch to, field by field in the words of their buffer:
// shaders/accumulate.comp declares the same members in the same order
// (TestTotalsLayout checks that the two agree).
type Totals struct {
	Loss             float32 // the samples' losses summed
	LossCompensation float32 // the sum's Kahan compensation
	Correct          float32 // the samples classified right
	Samples          float32 // the samples counted
}

// TotalsWords is the size of the totals buffer in 4-byte words.
const TotalsWords = 4

// TotalsOf reads Totals from the words of their buffer.
func TotalsOf(words []float32) Totals {
	return Totals{Loss: words[0], LossCompensation: words[1], Correct: words[2], Samples: words[3]}
}

// Words are t as their buffer holds them.
func (t Totals) Words() []float32 {
	return []float32{t.Loss, t.LossCompensation, t.Correct, t.Samples}
}

// MarshalJSON writes t as its buffer's words, the array that checkpoints
// have always kept.
func (t Totals) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Words())
}

// UnmarshalJSON reads the array MarshalJSON writes.
func (t *Totals) UnmarshalJSON(data []byte) error {
	var words [TotalsWords]float32
	if err := json.Unmarshal(data, &words); err != nil {
		return err
	}
	*t = TotalsOf(words[:])
	return nil
}

// Accumulate records totals += the batch's loss sum and correct count
// (totals: a buffer of Totals).
func Accumulate(ctx *vk.Context, rec *vk.Recording, stats, step, totals vk.Range) error {
	if err := needFloats("totals", totals, TotalsWords); err != nil {
		return err
	}
	k, err := accumulateShader.kernel(ctx)
	if err != nil {
		return err
	}
	return rec.Dispatch(k, [3]uint32{1, 1, 1}, nil, stats, step, totals)
}

// colSumChunk is how many rows one invocation of the first stage sums.
const colSumChunk = 64

// ColSumScratch is the scratch ColSum needs for a rows x cols matrix, in
// floats.
func ColSumScratch(rows, cols int) int {
	return (rows + colSumChunk - 1) / colSumChunk * cols
}

// ColSum records b[n] = sum over m of g[m][n] (a bias gradient), in two
// deterministic stages through scratch (ColSumScratch floats).
func ColSum(ctx *vk.Context, rec *vk.Recording, g, b, scratch vk.Range, rows, cols int) error {
	if err := errors.Join(needFloats("gradient", g, rows*cols), needFloats("bias gradient", b, cols),
		needFloats("column-sum scratch", scratch, ColSumScratch(rows, cols))); err != nil {
		return err
	}
	// The first stage in slices of whole chunks within the device's
	// storage-buffer range (all of g where it fits), each writing its
	// chunks' sums in place.
	chunks := (rows + colSumChunk - 1) / colSumChunk
	rowBytes := 4 * int64(cols)
	per, err := perSlice(ctx.Info, fmt.Sprintf("a chunk of %d rows of %d columns", colSumChunk, cols), chunks, 1, colSumChunk*rowBytes, rowBytes)
	if err != nil {
		return err
	}
	err = eachSlice(chunks, per, func(first, count int) error {
		n := min(count*colSumChunk, rows-first*colSumChunk)
		gPart := vk.Range{Buf: g.Buf, Offset: g.Offset + int64(first*colSumChunk)*rowBytes, Size: int64(n) * rowBytes}
		return single(ctx, rec, colSumPartsShader, count*cols, []uint32{uint32(n), uint32(cols), colSumChunk},
			[]vk.Range{gPart, part(scratch, first, count, rowBytes)})
	})
	if err != nil {
		return err
	}
	return single(ctx, rec, colSumTotalShader, cols, []uint32{uint32(rows), uint32(cols), colSumChunk}, []vk.Range{scratch, b})
}

// AdamArgs are Adam's and AdamW's: the first and second moments M and V
// and their decays.
type AdamArgs struct {
	UpdateArgs
	M, V              vk.Range
	Beta1, Beta2, Eps float32
}

// Adam records one Adam update of a.N parameters with their gradients and
// moments, reading lr_t from the step buffer.
func Adam(ctx *vk.Context, rec *vk.Recording, a AdamArgs) error {
	return elementwiseBy(ctx, rec, adamShader, a.N, 4,
		[]vk.Range{a.Params, a.Grads, a.M, a.V}, []vk.Range{a.Step},
		[]uint32{math.Float32bits(a.Beta1), math.Float32bits(a.Beta2), math.Float32bits(a.Eps)})
}

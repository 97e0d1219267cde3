package nn

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
)

// Feed is what changes from one step to the next, written to the slot
// before the step runs.
type Feed struct {
	Counter uint32  // Adam's iteration t (1-based) and the dropout counter
	Seed    uint32  // dropout seed
	LR      float32 // the update's rate: Adam's bias-corrected one for Counter, else the scheduled one
	// AdamW's step size, bias correction and decay factor (Optimizer.stepValues).
	StepSize, Corr2Sqrt, Decay float32
	Indices                    []int     // the batch's samples in the set; at most Batch
	Affines                    []float32 // 6 a sample (augment.Affine), Batch of them; nil: identity
	// Ahead are the next steps' samples, which a streamed set copies to
	// the device while this step runs (nil: none known).
	Ahead [][]int
}

// AdamLR is Keras 2.0's bias-corrected learning rate at iteration t, with
// its default betas.
func AdamLR(lr float64, t uint32) float32 {
	var f Feed
	Optimizer{}.stepValues(&f, lr, t)
	return f.LR
}

// Step runs one step of the given mode on set and waits for it. Samples
// past len(v.Indices) are padding: computed, but they add nothing to the
// loss, the counters, the gradients or batch normalization's statistics.
func (n *Net) Step(set *DeviceSet, mode Mode, warp augment.Sampling, v Feed) error {
	valid := len(v.Indices)
	order, err := n.batchOrder(set, v.Indices)
	if err != nil {
		return err
	}
	affines := v.Affines
	if affines == nil {
		if n.identity == nil {
			for range n.Batch {
				n.identity = append(n.identity, augment.IdentityAffine[:]...)
			}
		}
		affines = n.identity
	}
	if len(affines) != 6*n.Batch {
		return fmt.Errorf("step: %d affine values for a batch of %d", len(affines), n.Batch)
	}
	header := make([]uint32, kernels.StepWords)
	header[kernels.StepCounter] = v.Counter
	header[kernels.StepSeed] = v.Seed
	header[kernels.StepValid] = uint32(valid)
	header[kernels.StepLR] = math.Float32bits(v.LR)
	header[kernels.StepStepSize] = math.Float32bits(v.StepSize)
	header[kernels.StepCorr2Sqrt] = math.Float32bits(v.Corr2Sqrt)
	header[kernels.StepDecay] = math.Float32bits(v.Decay)
	values := n.slot
	if n.slotUpload != nil {
		values = n.slotUpload
	}
	if err := errors.Join(values.WriteUint32(0, header), values.WriteUint32(n.orderOffset, order),
		values.WriteFloat32(n.affineOffset, affines)); err != nil {
		return err
	}
	if err := n.run(set, mode, warp, order, v.Ahead); err != nil {
		return err
	}
	if err := n.ctx.Check(); err != nil {
		return err
	}
	return n.checkLabels()
}

// batchOrder is the order a step reads the samples indices of set in:
// Batch of them, the last repeated past len(indices) as padding.
func (n *Net) batchOrder(set *DeviceSet, indices []int) ([]uint32, error) {
	valid := len(indices)
	if valid == 0 || valid > n.Batch {
		return nil, fmt.Errorf("step: %d samples for a batch of %d", valid, n.Batch)
	}
	order := make([]uint32, n.Batch)
	for i := range order {
		idx := indices[min(i, valid-1)]
		if idx < 0 || idx >= set.N {
			return nil, fmt.Errorf("step: sample %d outside a set of %d", idx, set.N)
		}
		order[i] = uint32(idx)
	}
	return order, nil
}

// checkLabels reports the samples of the last step whose label lies
// outside the model's classes, and zeroes the count for the next step.
func (n *Net) checkLabels() error {
	bad := make([]uint32, 1)
	if err := n.labelErrors.ReadUint32(0, bad); err != nil || bad[0] == 0 {
		return err
	}
	if err := n.labelErrors.WriteUint32(0, []uint32{0}); err != nil {
		return err
	}
	return fmt.Errorf("%d samples of the batch have labels outside the model's %d classes (0..%d)", bad[0], n.Model.Classes, n.Model.Classes-1)
}

// StepDeviceTime is the device time of the last step, from its first
// timestamp to its last.
func (n *Net) StepDeviceTime() (time.Duration, error) {
	if n.last == nil {
		return 0, errors.New("step device time: no step has run")
	}
	return n.last.Elapsed(0, n.last.Timestamps()-1)
}

// ResetTotals zeroes the loss and accuracy counters.
func (n *Net) ResetTotals() error {
	return n.SetTotals(kernels.Totals{})
}

// Totals reads the counters since the last reset: mean loss, accuracy and
// the number of samples.
func (n *Net) Totals() (loss, acc float64, samples int, err error) {
	t, err := n.RawTotals()
	if err != nil {
		return 0, 0, 0, err
	}
	samples = int(t.Samples)
	if samples == 0 {
		return 0, 0, 0, nil
	}
	return float64(t.Loss) / float64(samples), float64(t.Correct) / float64(samples), samples, nil
}

// RawTotals and SetTotals save and restore the counters, for checkpoints.
func (n *Net) RawTotals() (kernels.Totals, error) {
	words := make([]float32, kernels.TotalsWords)
	if err := n.totals.ReadFloat32(0, words); err != nil {
		return kernels.Totals{}, err
	}
	return kernels.TotalsOf(words), nil
}

func (n *Net) SetTotals(t kernels.Totals) error {
	return n.totals.WriteFloat32(0, t.Words())
}

// Logits reads the last step's pre-softmax outputs, Batch x Classes.
func (n *Net) Logits() ([]float32, error) {
	out := make([]float32, n.Batch*n.Model.Classes)
	return out, n.acts[len(n.Model.Layers)].ReadFloat32(0, out)
}

// Predictions reads the last step's argmax per sample.
func (n *Net) Predictions() ([]int, error) {
	stats := make([]float32, 3*n.Batch)
	if err := n.stats.ReadFloat32(0, stats); err != nil {
		return nil, err
	}
	out := make([]int, n.Batch)
	for i := range out {
		out[i] = int(stats[3*i+2])
	}
	return out, nil
}

// Params reads the weight vector, non-trainable parameters included.
func (n *Net) Params() ([]float32, error) {
	out := make([]float32, n.Model.ParamFloats)
	return out, n.params.ReadFloat32(0, out)
}

// SetParams writes the weight vector.
func (n *Net) SetParams(p []float32) error {
	if len(p) != n.Model.ParamFloats {
		return fmt.Errorf("%d parameters for a model of %d", len(p), n.Model.ParamFloats)
	}
	return n.params.WriteFloat32(0, p)
}

// Gradients reads the gradients of the trainable parameters at the last
// training step, laid out as they are in the weight vector.
func (n *Net) Gradients() ([]float32, error) {
	out := make([]float32, n.Model.TrainableFloats)
	return out, n.grads.ReadFloat32(0, out)
}

// OptimizerState reads the optimizer's two state vectors (Adam's moments;
// SGD's momentum or RMSprop's square average, and zeros), for checkpoints.
func (n *Net) OptimizerState() (m, v []float32, err error) {
	m = make([]float32, n.Model.TrainableFloats)
	v = make([]float32, n.Model.TrainableFloats)
	return m, v, errors.Join(n.adamM.ReadFloat32(0, m), n.adamV.ReadFloat32(0, v))
}

// SetOptimizerState restores the optimizer's state vectors; a nil one is
// zeros.
func (n *Net) SetOptimizerState(m, v []float32) error {
	zeros := make([]float32, n.Model.TrainableFloats)
	if m == nil {
		m = zeros
	}
	if v == nil {
		v = zeros
	}
	if len(m) != n.Model.TrainableFloats || len(v) != n.Model.TrainableFloats {
		return fmt.Errorf("optimizer state of %d and %d values for a model of %d", len(m), len(v), n.Model.TrainableFloats)
	}
	return errors.Join(n.adamM.WriteFloat32(0, m), n.adamV.WriteFloat32(0, v))
}

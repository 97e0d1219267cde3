package nn

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// The optimizers, by name.
const (
	// OptAdam is Keras 2.0's Adam (shaders/adam.comp): epsilon is added to
	// sqrt(v), not to the bias-corrected sqrt(v̂) as torch.optim.Adam does,
	// so that its update with epsilon is PyTorch's with epsilon /
	// sqrt(1 - beta2^t). Weight decay is L2, added to the gradient.
	OptAdam = "adam"
	// OptSGD is torch.optim.SGD's, dampening 0: v = mu v + g, p -= lr v
	// (Nesterov: p -= lr (g + mu v)); Keras' v = mu v - lr g differs once
	// the rate changes. Weight decay is L2.
	OptSGD = "sgd"
	// OptAdamW is torch.optim.AdamW's: decoupled weight decay, p -= lr wd p
	// at the scheduled rate, then Adam with PyTorch's epsilon.
	OptAdamW = "adamw"
	// OptRMSprop is torch.optim.RMSprop's (alpha is Rho; no momentum, not
	// centered), epsilon outside the square root. Weight decay is L2.
	OptRMSprop = "rmsprop"
)

// Optimizers are the optimizers' names, the default first.
var Optimizers = []string{OptAdam, OptSGD, OptAdamW, OptRMSprop}

// Optimizer is how a run updates its weights. The zero value (an empty
// Name, as runs recorded before there was a choice) is Keras 2.0's Adam
// with its defaults; otherwise every field the optimizer reads is given.
type Optimizer struct {
	Name string `json:"name"`
	// SGD's.
	Momentum float64 `json:"momentum,omitempty"`
	Nesterov bool    `json:"nesterov,omitempty"`
	// The Adams'.
	Beta1 float64 `json:"beta1,omitempty"`
	Beta2 float64 `json:"beta2,omitempty"`
	// RMSprop's smoothing constant, PyTorch's alpha.
	Rho     float64 `json:"rho,omitempty"`
	Epsilon float64 `json:"epsilon,omitempty"`
	// WeightDecay is L2 (added to the gradient) but for AdamW (decoupled);
	// NoDecayBiasBN leaves the 1-D tensors (biases, batch normalization's
	// scale and offset) undecayed.
	WeightDecay   float64 `json:"weight_decay,omitempty"`
	NoDecayBiasBN bool    `json:"no_decay_bias_bn,omitempty"`
	// ClipNorm, where above 0, clips the gradient to this global norm
	// first (torch.nn.utils.clip_grad_norm_), before weight decay.
	ClipNorm float64 `json:"clip_norm,omitempty"`
}

// DefaultOptimizer is an optimizer with PyTorch's defaults (Keras 2.0's
// for Adam), or false for an unknown name.
func DefaultOptimizer(name string) (Optimizer, bool) {
	switch name {
	case OptAdam:
		return Optimizer{Name: name, Beta1: AdamBeta1, Beta2: AdamBeta2, Epsilon: AdamEpsilon}, true
	case OptSGD:
		return Optimizer{Name: name}, true
	case OptAdamW:
		return Optimizer{Name: name, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-2}, true
	case OptRMSprop:
		return Optimizer{Name: name, Rho: 0.99, Epsilon: 1e-8}, true
	}
	return Optimizer{}, false
}

// resolved is the optimizer with the zero value made explicit.
func (o Optimizer) resolved() Optimizer {
	if o.Name == "" {
		o, _ = DefaultOptimizer(OptAdam)
	}
	return o
}

// Check reports the first setting the optimizer cannot run.
func (o Optimizer) Check() error {
	o = o.resolved()
	unit := func(what string, v float64) error {
		if !(v >= 0 && v < 1) {
			return fmt.Errorf("%s %g outside [0, 1)", what, v)
		}
		return nil
	}
	var err error
	switch o.Name {
	case OptSGD:
		if err = unit("momentum", o.Momentum); err == nil && o.Nesterov && o.Momentum == 0 {
			err = fmt.Errorf("Nesterov momentum needs a momentum above 0")
		}
	case OptAdam, OptAdamW:
		if err = unit("beta1", o.Beta1); err == nil {
			err = unit("beta2", o.Beta2)
		}
	case OptRMSprop:
		err = unit("rho", o.Rho)
	default:
		return fmt.Errorf("unknown optimizer %q (%s)", o.Name, strings.Join(Optimizers, ", "))
	}
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", o.Name, err)
	case o.Name != OptSGD && !(o.Epsilon > 0 && o.Epsilon < math.Inf(1)):
		return fmt.Errorf("%s: epsilon %g must be a positive number", o.Name, o.Epsilon)
	case !(o.WeightDecay >= 0 && o.WeightDecay < math.Inf(1)):
		return fmt.Errorf("%s: weight decay %g must be a number, 0 or more", o.Name, o.WeightDecay)
	case !(o.ClipNorm >= 0 && o.ClipNorm < math.Inf(1)):
		return fmt.Errorf("%s: clip norm %g must be a number, 0 or more", o.Name, o.ClipNorm)
	}
	return nil
}

// stateNames are the optimizer's state vectors (each as long as the
// trainable parameters), by their names in checkpoints: Net keeps them in
// adamM and adamV, in this order.
func (o Optimizer) stateNames() []string {
	switch o = o.resolved(); o.Name {
	case OptSGD:
		if o.Momentum == 0 {
			return nil
		}
		return []string{"momentum"}
	case OptRMSprop:
		return []string{"square_avg"}
	}
	return []string{"adam_m", "adam_v"}
}

// decaysByMask says whether the update reads the decay mask: weight decay
// is on, or the optimizer is AdamW (whose kernel always reads it).
func (o Optimizer) decaysByMask() bool { return o.WeightDecay > 0 || o.Name == OptAdamW }

// stepValues fills the feed's rate words for step t at the scheduled rate
// lr, computed in float64: Keras' Adam's bias-corrected rate, AdamW's step
// size, bias correction and decay factor, the others' lr itself.
func (o Optimizer) stepValues(f *Feed, lr float64, t uint32) {
	o = o.resolved()
	ft := float64(t)
	switch o.Name {
	case OptAdam:
		f.LR = float32(lr * math.Sqrt(1-math.Pow(o.Beta2, ft)) / (1 - math.Pow(o.Beta1, ft)))
	case OptAdamW:
		f.LR = float32(lr)
		f.StepSize = float32(lr / (1 - math.Pow(o.Beta1, ft)))
		f.Corr2Sqrt = float32(math.Sqrt(1 - math.Pow(o.Beta2, ft)))
		f.Decay = float32(1 - lr*o.WeightDecay)
	default:
		f.LR = float32(lr)
	}
}

// decayMask is the mask of the trainable vector that weight decay reads:
// 1 where a parameter decays, 0 for the padding between tensors and, with
// NoDecayBiasBN, for 1-D tensors.
func (o Optimizer) decayMask(m *Model) []float32 {
	mask := make([]float32, m.TrainableFloats)
	for _, p := range m.Params {
		if !p.Trainable || (o.NoDecayBiasBN && len(p.Shape) == 1) {
			continue
		}
		for i := range p.Size() {
			mask[p.Offset+i] = 1
		}
	}
	return mask
}

// deviceFloats lists the device buffers, in floats, that the optimizer
// takes beside the network's: the decay mask, gradient clipping's norm
// scratch (its norm and scale are on the host).
func (o Optimizer) deviceFloats(m *Model) []int {
	var out []int
	if o.decaysByMask() {
		out = append(out, maskFloats(m))
	}
	if o.ClipNorm > 0 {
		out = append(out, normScratchFloats(m))
	}
	return out
}

func maskFloats(m *Model) int        { return max(m.TrainableFloats, 1) }
func normScratchFloats(m *Model) int { return max(kernels.GradNormScratch(m.TrainableFloats), 1) }

// SetOptimizer makes the network's training steps update with o (Keras'
// Adam until it is called); the optimizer's state is the network's two
// state vectors, zero at first. The buffers o takes besides the network's
// must fit in the device's memory with the network and its data.
func (n *Net) SetOptimizer(o Optimizer) error {
	if err := o.Check(); err != nil {
		return err
	}
	o = o.resolved()
	if o == n.optimizer {
		return nil
	}
	if err := n.checkMemory(o); err != nil {
		return err
	}
	if o.decaysByMask() {
		if n.decayMask == nil {
			b, err := n.ctx.NewBuffer(4 * int64(maskFloats(n.Model)))
			if err != nil {
				return fmt.Errorf("weight decay mask: %w", err)
			}
			n.owned = append(n.owned, b)
			n.decayMask = b
		}
		if err := n.decayMask.WriteFloat32(0, o.decayMask(n.Model)); err != nil {
			return err
		}
	}
	if o.ClipNorm > 0 && n.clip == nil {
		scratch, err := n.ctx.NewBuffer(4 * int64(normScratchFloats(n.Model)))
		if err != nil {
			return fmt.Errorf("gradient clipping: %w", err)
		}
		n.owned = append(n.owned, scratch)
		clip, err := n.ctx.NewHostBuffer(4 * 2)
		if err != nil {
			return fmt.Errorf("gradient clipping: %w", err)
		}
		n.owned = append(n.owned, clip)
		n.normScratch, n.clip = scratch, clip
	}
	n.optimizer = o
	n.forgetTraining()
	return nil
}

// GradNorm is the global norm of the gradient before clipping at the last
// training step, where the optimizer clips.
func (n *Net) GradNorm() (float64, error) {
	if n.optimizer.ClipNorm == 0 {
		return 0, errors.New("gradient norm: the optimizer does not clip")
	}
	clip := make([]float32, 2)
	if err := n.clip.ReadFloat32(0, clip); err != nil {
		return 0, err
	}
	return float64(clip[0]), nil
}

// SetLabelSmoothing makes the loss of training steps (not evaluation's)
// PyTorch's CrossEntropyLoss(label_smoothing=e).
func (n *Net) SetLabelSmoothing(e float64) error {
	if err := kernels.CheckLabelSmoothing(e); err != nil {
		return err
	}
	if float32(e) != n.smoothing {
		n.smoothing = float32(e)
		n.forgetTraining()
	}
	return nil
}

// forgetTraining drops the recorded steps that backpropagate, for a
// change of their optimizer or loss.
func (n *Net) forgetTraining() {
	for key, rec := range n.recordings {
		if key.mode != ModeEval {
			rec.Close()
			delete(n.recordings, key)
		}
	}
}

// recordUpdate records the optimizer's update of the trainable vector:
// the L2 decay into the gradient where the optimizer takes it, then one
// dispatch.
func (n *Net) recordUpdate(rec *vk.Recording) error {
	ctx, o, count := n.ctx, n.optimizer.resolved(), n.Model.TrainableFloats
	p, g, s1, s2 := whole(n.params), whole(n.grads), whole(n.adamM), whole(n.adamV)
	f32 := func(v float64) float32 { return float32(v) }
	if o.ClipNorm > 0 {
		if err := kernels.ClipGradNorm(ctx, rec, g, whole(n.normScratch), whole(n.clip), count, f32(o.ClipNorm)); err != nil {
			return err
		}
		if err := n.mark(rec, "gradient clipping", 0, 4*4*float64(count)); err != nil {
			return err
		}
	}
	if o.WeightDecay > 0 && o.Name != OptAdamW {
		if err := kernels.WeightDecay(ctx, rec, p, g, whole(n.decayMask), count, f32(o.WeightDecay)); err != nil {
			return err
		}
		if err := n.mark(rec, "weight decay", 0, 4*4*float64(count)); err != nil {
			return err
		}
	}
	// What each update reads and writes, in floats a parameter.
	var err error
	var moves float64
	update := kernels.UpdateArgs{Params: p, Grads: g, Step: n.header(), N: count}
	adam := kernels.AdamArgs{UpdateArgs: update, M: s1, V: s2, Beta1: f32(o.Beta1), Beta2: f32(o.Beta2), Eps: f32(o.Epsilon)}
	switch o.Name {
	case OptSGD:
		err = kernels.SGD(ctx, rec, kernels.SGDArgs{UpdateArgs: update, MomentumBuffer: s1, Momentum: f32(o.Momentum), Nesterov: o.Nesterov})
		moves = 5
	case OptRMSprop:
		err = kernels.RMSprop(ctx, rec, kernels.RMSpropArgs{UpdateArgs: update, SquareAvg: s1, Rho: o.Rho, Eps: f32(o.Epsilon)})
		moves = 5
	case OptAdamW:
		err = kernels.AdamW(ctx, rec, kernels.AdamWArgs{AdamArgs: adam, Mask: whole(n.decayMask)})
		moves = 8
	default:
		err = kernels.Adam(ctx, rec, adam)
		moves = 7
	}
	if err != nil {
		return err
	}
	return n.mark(rec, o.Name, 0, moves*4*float64(count))
}

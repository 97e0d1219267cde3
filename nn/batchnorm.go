package nn

import (
	"fmt"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

func init() {
	register("batchnorm", kind{class: "BatchNormalization", prefix: "batch_normalization", fields: []string{"momentum", "epsilon"}, build: buildBatchNorm,
		// The channels' axis; beta and gamma both (center, scale).
		keras: map[string][]string{"axis": {"-1", "3", "[3]", "[-1]"}, "center": {"true"}, "scale": {"true"}, "synchronized": {"false"}, "renorm": {"false"}}})
}

// Keras' defaults for batch normalization's momentum and epsilon. Keras'
// momentum is what the moving averages keep of themselves each step:
// PyTorch's momentum is one minus it (0.01 for 0.99).
const (
	batchNormMomentum = 0.99
	batchNormEpsilon  = 1e-3
)

// BatchNormSettings are a batchnorm layer's momentum and epsilon: its
// spec's, or Keras' defaults. The epsilon is also what an exported
// inference graph normalizes with.
func BatchNormSettings(s LayerSpec) (momentum, epsilon float64) {
	momentum, epsilon = batchNormMomentum, batchNormEpsilon
	if s.Momentum != nil {
		momentum = *s.Momentum
	}
	if s.Epsilon != nil {
		epsilon = *s.Epsilon
	}
	return momentum, epsilon
}

// batchNorm normalizes each channel (the last axis: a convolution's
// filters, a dense layer's units) as Keras' BatchNormalization does: in
// training with the statistics of the batch's real samples, the padding of
// a last, partial batch left out, moving the moving averages towards them
// (not in gradient checks); in evaluation with the moving averages.
//
// The moving averages are Keras 2.2's (TensorFlow backend, since Keras
// 2.1.3): zero-debiased over the training steps so far, which forgets
// their initial values, and of the unbiased variance. Keras 2.0.6 kept a
// plain average: after 200 steps at momentum 0.99 its moving variance
// still holds 13% of its initial 1, against true variances of a few
// thousandths after a first convolution, and evaluation fails (12% test
// accuracy where training reached 94%).
type batchNorm struct {
	in                                 Shape
	momentum, epsilon                  float32
	gamma, beta, movingMean, movingVar *Param
	// relu says it runs the ReLU layer after it (see fuse).
	relu bool
}

func buildBatchNorm(b *builder) (recorder, error) {
	in := b.in()
	momentum, epsilon := BatchNormSettings(b.spec())
	if !(momentum >= 0 && momentum < 1) || !(epsilon > 0) {
		return nil, fmt.Errorf("needs 0 <= momentum < 1 and epsilon > 0 (got %g, %g)", momentum, epsilon)
	}
	b.l.Out = in
	channels := []int{in.C}
	return &batchNorm{
		in:         in,
		momentum:   float32(momentum),
		epsilon:    float32(epsilon),
		gamma:      b.param("gamma", channels, Ones, true),
		beta:       b.param("beta", channels, Zeros, true),
		movingMean: b.param("moving_mean", channels, Zeros, false),
		movingVar:  b.param("moving_variance", channels, Ones, false),
	}, nil
}

func (bn *batchNorm) kernel(batch int) kernels.BatchNorm {
	return kernels.BatchNorm{Batch: batch, Pixels: bn.in.H * bn.in.W, C: bn.in.C, Eps: bn.epsilon, Momentum: bn.momentum, ReLU: bn.relu}
}

// Its own buffers: the statistics a step normalizes with, and scratch for
// its reductions. The input gradient overwrites the output gradient.
func (bn *batchNorm) needs(batch int, _ bool, _ kernels.Tuning) needs {
	k := bn.kernel(batch)
	return needs{gradientInPlace: true, own: []int{k.StatsFloats(), k.Scratch()}}
}

func (*batchNorm) products(int, bool) []product { return nil }

func (bn *batchNorm) forward(p *pass) error {
	k := bn.kernel(p.batch())
	stats, scratch := whole(p.own[0]), whole(p.own[1])
	mean, variance := p.param(bn.movingMean), p.param(bn.movingVar)
	var err error
	if p.mode == ModeEval {
		err = k.MovingStats(p.ctx(), p.rec, p.in, p.header(), scratch, stats, mean, variance)
	} else {
		err = k.BatchStats(p.ctx(), p.rec, p.in, p.header(), scratch, stats, mean, variance, p.mode == ModeTrain)
	}
	if err != nil {
		return err
	}
	return k.Normalize(p.ctx(), p.rec, p.in, stats, p.param(bn.gamma), p.param(bn.beta), p.out)
}

func (bn *batchNorm) backward(p *pass) error {
	k := bn.kernel(p.batch())
	stats, scratch := whole(p.own[0]), whole(p.own[1])
	dGamma, dBeta := p.grad(bn.gamma), p.grad(bn.beta)
	gamma, beta := p.param(bn.gamma), p.param(bn.beta)
	err := k.Gradients(p.ctx(), p.rec, p.in, p.dOut, p.header(), stats, gamma, beta, scratch, dGamma, dBeta)
	if err == nil && p.inputGradient() {
		// p.dIn is p.dOut: the kernel works in place.
		err = k.InputGradient(p.ctx(), p.rec, p.in, p.dIn, p.header(), stats, gamma, beta, dGamma, dBeta)
	}
	if err != nil {
		return err
	}
	return p.mark("backward")
}

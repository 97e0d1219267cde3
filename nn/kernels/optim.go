package kernels

import (
	"errors"
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/vk"
)

// The optimizers after Adam (train.go), each one dispatch over the whole
// trainable vector, and the L2 weight decay that SGD, Adam and RMSprop add
// to the gradient before their update.
var (
	sgdShader         = elementwiseShader("sgd", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.Read}, 2)
	rmspropShader     = elementwiseShader("rmsprop", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.Read}, 3)
	adamWShader       = elementwiseShader("adamw", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.ReadWrite, vk.Read, vk.Read}, 3)
	weightDecayShader = elementwiseShader("weight_decay", "", []vk.Access{vk.Read, vk.ReadWrite, vk.Read}, 1)
)

// UpdateArgs are what every optimizer's update reads and writes: N
// parameters, their gradients and the step buffer's header.
type UpdateArgs struct {
	Params, Grads, Step vk.Range
	N                   int
}

// SGDArgs are SGD's: MomentumBuffer holds PyTorch's momentum_buffer.
type SGDArgs struct {
	UpdateArgs
	MomentumBuffer vk.Range
	Momentum       float32
	Nesterov       bool
}

// SGD records one update of a.N parameters as torch.optim.SGD's
// (dampening 0), reading the rate from the step buffer; momentum 0 leaves
// the momentum buffer alone.
func SGD(ctx *vk.Context, rec *vk.Recording, a SGDArgs) error {
	nest := uint32(0)
	if a.Nesterov {
		nest = 1
	}
	return elementwise(ctx, rec, sgdShader, a.N, []vk.Range{a.Params, a.Grads, a.MomentumBuffer}, []vk.Range{a.Step},
		[]uint32{math.Float32bits(a.Momentum), nest})
}

// RMSpropArgs are RMSprop's: SquareAvg holds the squared gradients'
// moving average.
type RMSpropArgs struct {
	UpdateArgs
	SquareAvg vk.Range
	Rho       float64
	Eps       float32
}

// RMSprop records one update of a.N parameters as torch.optim.RMSprop's
// (alpha rho, no momentum, not centered), reading the rate from the step
// buffer; 1 - rho is rounded to float32 from float64, as PyTorch's
// value=1 - alpha.
func RMSprop(ctx *vk.Context, rec *vk.Recording, a RMSpropArgs) error {
	return elementwise(ctx, rec, rmspropShader, a.N, []vk.Range{a.Params, a.Grads, a.SquareAvg}, []vk.Range{a.Step},
		[]uint32{math.Float32bits(float32(a.Rho)), math.Float32bits(float32(1 - a.Rho)), math.Float32bits(a.Eps)})
}

// AdamWArgs are AdamW's: Adam's, and Mask (1 or 0 a parameter), which
// says which parameters decay.
type AdamWArgs struct {
	AdamArgs
	Mask vk.Range
}

// AdamW records one update of a.N parameters as torch.optim.AdamW's,
// reading its step size, bias correction and decay factor from the step
// buffer.
func AdamW(ctx *vk.Context, rec *vk.Recording, a AdamWArgs) error {
	return elementwise(ctx, rec, adamWShader, a.N, []vk.Range{a.Params, a.Grads, a.M, a.V, a.Mask}, []vk.Range{a.Step},
		[]uint32{math.Float32bits(a.Beta1), math.Float32bits(a.Beta2), math.Float32bits(a.Eps)})
}

// WeightDecay records grads += wd params where mask (1 or 0 a parameter)
// is 1, over n parameters: L2 regularisation as torch.optim's
// weight_decay.
func WeightDecay(ctx *vk.Context, rec *vk.Recording, params, grads, mask vk.Range, n int, wd float32) error {
	return elementwise(ctx, rec, weightDecayShader, n, []vk.Range{params, grads, mask}, nil, []uint32{math.Float32bits(wd)})
}

// The gradient clipping's kernels.
var (
	gradNormPartsShader = groupShader("grad_norm", "partial sums", []vk.Access{vk.Read, vk.Write}, 3, 0)
	gradNormTotalShader = groupShader("grad_norm", "total", []vk.Access{vk.Read, vk.Write}, 3, 1)
	clipScaleShader     = elementwiseShader("clip_scale", "", []vk.Access{vk.ReadWrite, vk.Read}, 0)
)

// gradNormChunk is how many values one invocation of the norm's first
// stage sums.
const gradNormChunk = 256

// GradNormScratch is the scratch ClipGradNorm needs for n values, in
// floats.
func GradNormScratch(n int) int { return (n + gradNormChunk - 1) / gradNormChunk }

// ClipGradNorm records the clipping of n gradients to the global norm
// maxNorm, as torch.nn.utils.clip_grad_norm_: the norm summed in a fixed
// order through scratch (GradNormScratch floats), then clip = (norm, scale)
// with scale min(1, maxNorm / (norm + 1e-6)), then grads *= scale, all on
// the device.
func ClipGradNorm(ctx *vk.Context, rec *vk.Recording, grads, scratch, clip vk.Range, n int, maxNorm float32) error {
	chunks := GradNormScratch(n)
	if err := errors.Join(needFloats("gradients", grads, n), needFloats("gradient norm scratch", scratch, chunks), needFloats("clip", clip, 2)); err != nil {
		return err
	}
	// The first stage in slices of whole chunks within the device's
	// storage-buffer range, each writing its chunks' sums.
	per, err := perSlice(ctx.Info, fmt.Sprintf("a chunk of %d gradients", gradNormChunk), chunks, 1, gradNormChunk*4, 4)
	if err != nil {
		return err
	}
	err = eachSlice(chunks, per, func(first, count int) error {
		values := min(count*gradNormChunk, n-first*gradNormChunk)
		return single(ctx, rec, gradNormPartsShader, count, []uint32{uint32(values), gradNormChunk, math.Float32bits(maxNorm)},
			[]vk.Range{part(grads, first*gradNormChunk, values, 4), part(scratch, first, count, 4)})
	})
	if err != nil {
		return err
	}
	if err := single(ctx, rec, gradNormTotalShader, 1, []uint32{uint32(chunks), 1, math.Float32bits(maxNorm)}, []vk.Range{scratch, clip}); err != nil {
		return err
	}
	return elementwise(ctx, rec, clipScaleShader, n, []vk.Range{grads}, []vk.Range{clip}, nil)
}

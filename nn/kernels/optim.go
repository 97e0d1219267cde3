package kernels

import (
	"math"

	"github.com/vkcnn/vkcnn/vk"
)

// The optimizers after Adam (train.go), each one dispatch over the whole
// trainable vector, and the L2 weight decay that SGD, Adam and RMSprop add
// to the gradient before their update.
var (
	sgdShader         = elementwiseShader("sgd", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.Read}, 2)
	rmspropShader     = elementwiseShader("rmsprop", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.Read}, 2)
	adamWShader       = elementwiseShader("adamw", "", []vk.Access{vk.ReadWrite, vk.Read, vk.ReadWrite, vk.ReadWrite, vk.Read, vk.Read}, 3)
	weightDecayShader = elementwiseShader("weight_decay", "", []vk.Access{vk.Read, vk.ReadWrite, vk.Read}, 1)
)

// SGD records one update of n parameters as torch.optim.SGD's (dampening
// 0), reading the rate from the step buffer; momentum 0 leaves buf alone.
func SGD(ctx *vk.Context, rec *vk.Recording, params, grads, buf, step vk.Range, n int, momentum float32, nesterov bool) error {
	nest := uint32(0)
	if nesterov {
		nest = 1
	}
	return elementwise(ctx, rec, sgdShader, n, []vk.Range{params, grads, buf}, []vk.Range{step},
		[]uint32{math.Float32bits(momentum), nest})
}

// RMSprop records one update of n parameters as torch.optim.RMSprop's
// (alpha rho, no momentum, not centered), reading the rate from the step
// buffer.
func RMSprop(ctx *vk.Context, rec *vk.Recording, params, grads, squareAvg, step vk.Range, n int, rho, eps float32) error {
	return elementwise(ctx, rec, rmspropShader, n, []vk.Range{params, grads, squareAvg}, []vk.Range{step},
		[]uint32{math.Float32bits(rho), math.Float32bits(eps)})
}

// AdamW records one update of n parameters as torch.optim.AdamW's,
// reading its step size, bias correction and decay factor from the step
// buffer; mask (1 or 0 a parameter) says which ones decay.
func AdamW(ctx *vk.Context, rec *vk.Recording, params, grads, m, v, mask, step vk.Range, n int, beta1, beta2, eps float32) error {
	return elementwise(ctx, rec, adamWShader, n, []vk.Range{params, grads, m, v, mask}, []vk.Range{step},
		[]uint32{math.Float32bits(beta1), math.Float32bits(beta2), math.Float32bits(eps)})
}

// WeightDecay records grads += wd params where mask (1 or 0 a parameter)
// is 1, over n parameters: L2 regularisation as torch.optim's
// weight_decay.
func WeightDecay(ctx *vk.Context, rec *vk.Recording, params, grads, mask vk.Range, n int, wd float32) error {
	return elementwise(ctx, rec, weightDecayShader, n, []vk.Range{params, grads, mask}, nil, []uint32{math.Float32bits(wd)})
}

package kernels

import (
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/vk"
)

// Activation is an element-wise activation function of activation.comp,
// its value the shader's ACT constant (TestActivationNames checks that
// they agree). Its name is model.json's.
type Activation uint32

const (
	ActReLU              Activation = iota // max(x, 0)
	ActReLU6                               // min(max(x, 0), 6)
	ActLeakyReLU                           // x > 0 ? x : alpha x
	ActELU                                 // x > 0 ? x : alpha (exp(x) - 1)
	ActSELU                                // scale (x > 0 ? x : alpha' (exp(x) - 1)), Klambauer et al.'s constants
	ActSigmoid                             // 1 / (1 + exp(-x))
	ActHardSigmoid                         // Keras 2's: clip(0.2 x + 0.5, 0, 1)
	ActHardSigmoidKeras3                   // Keras 3's and PyTorch's: relu6(x + 3) / 6
	ActTanh                                // tanh(x)
	ActSoftplus                            // log(1 + exp(x))
	ActSoftsign                            // x / (1 + |x|)
	ActSwish                               // x sigmoid(x), also called SiLU
	ActGELU                                // x Phi(x), exact (erf)
	ActGELUTanh                            // GELU's tanh approximation
	activationCount
)

var activationNames = [activationCount]string{"relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid",
	"hard_sigmoid", "hard_sigmoid_keras3", "tanh", "softplus", "softsign", "swish", "gelu", "gelu_tanh"}

func (a Activation) String() string {
	if a < activationCount {
		return activationNames[a]
	}
	return fmt.Sprintf("activation %d", uint32(a))
}

// Activations lists every activation, in the order of their values.
func Activations() []Activation {
	out := make([]Activation, activationCount)
	for i := range out {
		out[i] = Activation(i)
	}
	return out
}

// ParseActivation finds an activation by its name; "silu" is swish.
func ParseActivation(name string) (Activation, bool) {
	if name == "silu" {
		return ActSwish, true
	}
	for i, n := range activationNames {
		if n == name {
			return Activation(i), true
		}
	}
	return 0, false
}

// activationShaders are each activation's forward and backward pipelines.
// Binding 1 is read-write in the SPIR-V, for backward's in-place update.
var activationShaders = func() (s [activationCount][2]shader) {
	for a := range activationCount {
		for mode, label := range []string{"forward", "backward"} {
			s[a][mode] = elementwiseShader("activation", a.String()+" "+label, []vk.Access{vk.Read, vk.ReadWrite}, 1, uint32(a), uint32(mode))
		}
	}
	return s
}()

// Activate records y = f(x) over n elements, f the activation a with
// alpha (leaky_relu's slope, elu's scale; ignored by the others).
func Activate(ctx *vk.Context, rec *vk.Recording, a Activation, alpha float32, x, y vk.Range, n int) error {
	return activation(ctx, rec, a, 0, alpha, x, y, n)
}

// ActivateBackward records dy = dy f'(x) over n elements, in place, x
// being the forward input.
func ActivateBackward(ctx *vk.Context, rec *vk.Recording, a Activation, alpha float32, x, dy vk.Range, n int) error {
	return activation(ctx, rec, a, 1, alpha, x, dy, n)
}

func activation(ctx *vk.Context, rec *vk.Recording, a Activation, mode int, alpha float32, x, y vk.Range, n int) error {
	if a >= activationCount {
		return fmt.Errorf("no %v", a)
	}
	return elementwise(ctx, rec, activationShaders[a][mode], n, []vk.Range{x, y}, nil, []uint32{math.Float32bits(alpha)})
}

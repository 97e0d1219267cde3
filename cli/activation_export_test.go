package cli

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// everyActivation has each activation in a layer of its own and in a
// convolution's or dense layer's field, and Keras' LeakyReLU layer.
const everyActivation = `{"format": "vkcnn-sequential-1", "name": "activations", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu6"},
  {"type": "activation", "activation": "leaky_relu", "alpha": 0.1},
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "elu", "alpha": 0.6},
  {"type": "activation", "activation": "selu"},
  {"type": "maxpool2d"},
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "sigmoid"},
  {"type": "activation", "activation": "hard_sigmoid"},
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "hard_sigmoid_keras3"},
  {"type": "activation", "activation": "tanh"},
  {"type": "maxpool2d"},
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "softplus"},
  {"type": "activation", "activation": "softsign"},
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
  {"type": "activation", "activation": "relu"},
  {"type": "flatten"},
  {"type": "dense", "units": 16, "activation": "swish"},
  {"type": "activation", "activation": "silu"},
  {"type": "dense", "units": 16, "activation": "gelu"},
  {"type": "activation", "activation": "gelu_tanh"},
  {"type": "leaky_relu", "alpha": 0.3},
  {"type": "activation", "activation": "elu"},
  {"type": "dense", "units": 16, "activation": "leaky_relu", "alpha": 0.2},
  {"type": "activation", "activation": "linear"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`

// TestExportActivationsMatchONNXRuntime checks every activation's export
// in ONNX Runtime on 64 digits, with random weights widened (kernels
// times 4, biases in [-1, 1]) so that the activations' inputs spread over
// their curved parts. The logits lie within 2e-4 of vkcnn's;
// hard_sigmoid's slope 0.201 instead of 0.2 moves them by 0.09.
func TestExportActivationsMatchONNXRuntime(t *testing.T) {
	spec, err := nn.LoadSpec(writeModel(t, everyActivation))
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	params := model.Init(7)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range model.Params {
		for i := p.Offset; i < p.Offset+p.Size(); i++ {
			if p.Init == nn.GlorotUniform {
				params[i] *= 4
			} else {
				params[i] = 2*rng.Float32() - 1
			}
		}
	}
	c := exportWeights(t, spec, params)
	t.Logf("64 digits: %d classes differ", c.classes)
	if c.logits > 1e-3 || math.IsNaN(c.logits) {
		t.Errorf("ONNX Runtime's logits are up to %.3g from vkcnn's (want at most 1e-3)", c.logits)
	}
}

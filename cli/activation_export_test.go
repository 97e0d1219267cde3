package cli

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
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
	data := dataDir(t)
	runner := onnxRuntime(t)
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
	run := t.TempDir()
	js, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.WriteFile(filepath.Join(run, "model.json"), js, 0o644),
		model.SaveWeights(filepath.Join(run, "weights.safetensors"), params)); err != nil {
		t.Fatal(err)
	}
	c := compareExport(t, runner, run, firstTestDigits(t, data, 64))
	t.Logf("64 digits: probabilities at most %.3g apart, logits %.3g; %d classes differ", c.probabilities, c.logits, c.classes)
	if c.probabilities > onnxTolerance || c.logits > 1e-3 || math.IsNaN(c.logits) {
		t.Errorf("ONNX Runtime's probabilities are up to %.3g from vkcnn's and its logits %.3g (want at most %g and 1e-3)",
			c.probabilities, c.logits, onnxTolerance)
	}
}

package cli

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// TestExportDepthwiseMatchesONNXRuntime trains depthwise convolutions a
// few hundred steps, one at stride 2 with a depth multiplier of 2 and one
// "valid" without a bias (ONNX's grouped Conv, with TensorFlow's padding
// spelt out), and checks the export in ONNX Runtime on 1,000 digits.
func TestExportDepthwiseMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-sequential-1", "name": "depthwise", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
  {"type": "depthwiseconv2d", "kernel_size": 3, "strides": 2, "depth_multiplier": 2, "activation": "relu"},
  {"type": "batchnorm"},
  {"type": "conv2d", "filters": 16, "kernel_size": 1, "activation": "relu"},
  {"type": "depthwiseconv2d", "kernel_size": 5, "strides": [2, 1], "padding": "valid", "use_bias": false, "activation": "tanh"},
  {"type": "globalavgpool2d"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

// TestExportSeparableMatchesONNXRuntime does the same for separable
// convolutions (two Convs each): one at stride 2 with a depth multiplier
// of 2 and its ReLU fused, one without a bias.
func TestExportSeparableMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-sequential-1", "name": "separable", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
  {"type": "separableconv2d", "filters": 16, "kernel_size": 3, "strides": 2, "depth_multiplier": 2, "activation": "relu"},
  {"type": "batchnorm"},
  {"type": "separableconv2d", "filters": 16, "kernel_size": 5, "padding": "valid", "use_bias": false, "activation": "relu6"},
  {"type": "globalavgpool2d"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

// TestExportMobileNetMatchesONNXRuntime checks the export of the mobilenet
// preset at MNIST's shape with random weights: its initial ones, but for
// the kernels, drawn He-uniform (a depthwise kernel's fan in its k x k
// taps), as Glorot's and Keras' depthwise fans (its channels count as
// inputs) shrink the logits to 1e-4 where the batch normalizations'
// moving statistics are their initial ones.
func TestExportMobileNetMatchesONNXRuntime(t *testing.T) {
	spec, err := nn.PresetFor("mobilenet", [3]int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	params := model.Init(7)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, l := range model.Layers {
		for _, p := range l.Params {
			if !strings.HasSuffix(p.Name, "kernel") {
				continue
			}
			fanIn := p.Size() / p.Shape[len(p.Shape)-1]
			if strings.HasSuffix(p.Name, ".depthwise_kernel") {
				fanIn = p.Shape[0] * p.Shape[1]
			}
			for i := range p.Size() {
				params[p.Offset+i] = float32((2*rng.Float64() - 1) * math.Sqrt(6/float64(fanIn)))
			}
		}
	}
	exportWeights(t, spec, params)
}

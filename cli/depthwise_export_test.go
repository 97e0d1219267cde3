package cli

import "testing"

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

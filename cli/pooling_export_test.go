package cli

import (
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// TestExportPoolingMatchesONNXRuntime checks the export of the pooling
// options, with random initial weights, on 64 digits: zero padding (Pad),
// max pooling in overlapping 3x3 windows with TensorFlow's "same" padding
// and average pooling of 2x3 windows with it (pads, count_include_pad
// 0), "valid" average pooling at steps of 2 and 1, and global max
// pooling.
func TestExportPoolingMatchesONNXRuntime(t *testing.T) {
	spec, err := nn.ParseSpec([]byte(`{"format": "vkcnn-sequential-1", "name": "pooling", "input_shape": [28, 28, 1], "layers": [
  {"type": "zeropadding2d", "padding": [[1, 2], [0, 3]]},
  {"type": "conv2d", "filters": 6, "kernel_size": 3, "activation": "relu"},
  {"type": "maxpool2d", "pool_size": 3, "strides": 2, "padding": "same"},
  {"type": "avgpool2d", "pool_size": [2, 3], "strides": 1, "padding": "same"},
  {"type": "zeropadding2d", "padding": 1},
  {"type": "avgpool2d", "pool_size": 3, "strides": [2, 1]},
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
  {"type": "globalmaxpool2d"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	exportInitial(t, spec)
}

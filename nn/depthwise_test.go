package nn

import (
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
)

// depthwiseSpec is MobileNet's pattern in small: a depthwise convolution
// at stride 2 with a depth multiplier of 2 and its ReLU fused, one
// "valid" without a bias and with an activation of its own dispatch, a
// 1x1 convolution between them; then separable convolutions, one at
// steps of 1 and 2 with its ReLU fused, one without a bias.
func depthwiseSpec() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 3, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "depthwiseconv2d", KernelSize: Pair{3, 3}, Strides: Pair{2, 2}, DepthMultiplier: 2, Activation: "relu"},
		{Type: "batchnorm"},
		{Type: "conv2d", Filters: 4, KernelSize: Pair{1, 1}},
		{Type: "depthwiseconv2d", KernelSize: Pair{3, 3}, Padding: "valid", UseBias: new(bool), Activation: "tanh"},
		{Type: "separableconv2d", Filters: 5, KernelSize: Pair{3, 3}, Strides: Pair{1, 2}, DepthMultiplier: 2, Activation: "relu"},
		{Type: "separableconv2d", Filters: 3, KernelSize: Pair{1, 1}, UseBias: new(bool), Activation: "elu"},
		{Type: "globalavgpool2d"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// depthwise64 is the float64 reference of a depthwise convolution (its
// bias nil without one), its ReLU fused where dw says, then act.
func depthwise64(dw kernels.Depthwise, kernel, bias *Param, act activation) unary64 {
	g := ref.ConvGeom{H: dw.H, W: dw.W, Cin: dw.C, KH: dw.KH, KW: dw.KW, OH: dw.OH, OW: dw.OW, SH: dw.SH, SW: dw.SW, PadTop: dw.PadTop, PadLeft: dw.PadLeft, DH: dw.DH, DW: dw.DW}
	activate := activation64(act)
	return func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
		g.Batch = r.batch
		w := r.param(kernel)
		var b []float64
		if bias != nil {
			b = r.param(bias)
		}
		y := ref.DepthwiseForward64(g, dw.M, x, w, b, r.rounding)
		if dw.ReLU {
			y = r.relu(y)
		}
		y, activated := activate(r, y)
		return y, func(dy []float64) []float64 {
			dy = activated(dy)
			if dw.ReLU {
				dy = ref.ReLUBackward64(y, dy)
			}
			r.setGrad(kernel, ref.DepthwiseBackwardFilter64(g, dw.M, x, dy, r.rounding))
			if bias != nil {
				r.setGrad(bias, ref.ColSum64(dy, g.Outputs(), dw.Channels(), r.rounding))
			}
			return ref.DepthwiseBackwardData64(g, dw.M, dy, w, r.rounding)
		}
	}
}

// separable64 is the float64 reference of a separable convolution: its
// depthwise part, then its 1x1 convolution.
func separable64(c *separableConv2D) layer64 {
	depthwise := depthwise64(c.dw, c.depthwise, nil, activation{})
	pointwise := affine64(ref.ConvGeom{H: c.dw.OH, W: c.dw.OW, Cin: c.dw.Channels(), Cout: c.filters, KH: 1, KW: 1}, c.pointwise, c.bias, c.relu, c.act)
	return func(r *reference, xs [][]float64) ([]float64, func([]float64) [][]float64) {
		mid, midBack := depthwise(r, xs[0])
		y, back := pointwise(r, [][]float64{mid})
		return y, func(dy []float64) [][]float64 { return [][]float64{midBack(back(dy)[0])} }
	}
}

// TestDepthwiseRefusals: each refusal is one line naming the layer.
func TestDepthwiseRefusals(t *testing.T) {
	model := func(layer string) string {
		return `{"format":"vkcnn-sequential-1","input_shape":[8,8,2],"layers":[` + layer + `,{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`
	}
	for layer, want := range map[string]string{
		`{"type":"depthwiseconv2d","kernel_size":32}`:                                   "layer 1 (depthwise_conv2d_1): kernel_size [32 32]: rows and columns, each 1 to 31",
		`{"type":"depthwiseconv2d"}`:                                                    "kernel_size []: rows and columns, each 1 to 31",
		`{"type":"depthwiseconv2d","kernel_size":3,"strides":2,"dilation_rate":2}`:      "dilation_rate [2 2] with strides [2 2]: Keras takes one or the other above 1",
		`{"type":"depthwiseconv2d","kernel_size":3,"depth_multiplier":-1}`:              "depth_multiplier -1: at least 1, and at most 65536 output channels",
		`{"type":"depthwiseconv2d","kernel_size":3,"depth_multiplier":40000}`:           "depth_multiplier 40000: at least 1",
		`{"type":"depthwiseconv2d","kernel_size":9,"padding":"valid"}`:                  `smaller than the 9x9 window`,
		`{"type":"depthwiseconv2d","kernel_size":3,"padding":"full"}`:                   `padding "full" (same or valid)`,
		`{"type":"depthwiseconv2d","kernel_size":3,"strides":0}`:                        "strides [0 0]: rows and columns, each 1 to 31",
		`{"type":"depthwiseconv2d","kernel_size":3,"activation":"softmax"}`:             "softmax is only supported on the last layer, a dense layer",
		`{"type":"depthwiseconv2d","kernel_size":3,"filters":4}`:                        "filters",
		`{"type":"flatten"},{"type":"depthwiseconv2d","kernel_size":3}`:                 "its input is a vector",
		`{"type":"depthwiseconv2d","kernel_size":3,"activation":"relu","alpha":0.1}`:    "activation relu takes no alpha",
		`{"type":"separableconv2d","kernel_size":3}`:                                    "layer 1 (separable_conv2d_1): needs filters, 1 to 65536",
		`{"type":"separableconv2d","filters":4,"kernel_size":[2,0]}`:                    "kernel_size [2 0]: rows and columns, each 1 to 31",
		`{"type":"separableconv2d","filters":4,"kernel_size":3,"dilation_rate":[1,32]}`: "dilation_rate [1 32]: rows and columns, each 1 to 31",
		`{"type":"separableconv2d","filters":4,"kernel_size":3,"groups":2}`:             "a separableconv2d layer takes no groups",
		`{"type":"separableconv2d","filters":4,"kernel_size":3,"units":3}`:              "units",
	} {
		_, err := ParseSpec([]byte(model(layer)))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want %q", layer, err, want)
		}
	}
}

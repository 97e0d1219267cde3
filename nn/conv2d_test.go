package nn

import (
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
)

// TestConvWindowsAsTensorFlow: "same" at a stride pads as TensorFlow,
// the larger half below and right (at 28 in, stride 2, kernel 3, none
// above and one below, where PyTorch's symmetric padding would put one
// above), and so does an even kernel at stride 1 (4: one above, two
// below) and a dilated one (its extent, (k-1)*d + 1); "valid" keeps the
// windows inside; an odd square kernel at stride 1 with "same" padding,
// undilated and ungrouped, runs the convolution kernels (nil windows).
func TestConvWindowsAsTensorFlow(t *testing.T) {
	for _, c := range []struct {
		in       Shape
		k        Pair
		strides  Pair
		dilation Pair
		padding  string
		groups   int
		want     *kernels.Window
		wantPads Windows
	}{
		{Shape{28, 28, 1}, Pair{3, 3}, Pair{2, 2}, nil, "", 0, &kernels.Window{H: 28, W: 28, C: 1, OH: 14, OW: 14, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1}, Windows{3, 3, 2, 2, 1, 1, 0, 0, 1, 1}},
		{Shape{7, 6, 2}, Pair{3, 3}, Pair{2, 2}, nil, "same", 0, &kernels.Window{H: 7, W: 6, C: 2, OH: 4, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadTop: 1, Groups: 1}, Windows{3, 3, 2, 2, 1, 1, 1, 0, 1, 1}},
		{Shape{32, 32, 16}, Pair{1, 1}, Pair{2, 2}, nil, "same", 0, &kernels.Window{H: 32, W: 32, C: 16, OH: 16, OW: 16, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1}, Windows{1, 1, 2, 2, 1, 1, 0, 0, 0, 0}},
		{Shape{9, 8, 1}, Pair{5, 5}, Pair{2, 3}, nil, "valid", 0, &kernels.Window{H: 9, W: 8, C: 1, OH: 3, OW: 2, KH: 5, KW: 5, SH: 2, SW: 3, DH: 1, DW: 1, Groups: 1}, Windows{5, 5, 2, 3, 1, 1, 0, 0, 0, 0}},
		{Shape{9, 8, 1}, Pair{3, 3}, nil, nil, "valid", 0, &kernels.Window{H: 9, W: 8, C: 1, OH: 7, OW: 6, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}, Windows{3, 3, 1, 1, 1, 1, 0, 0, 0, 0}},
		{Shape{9, 8, 1}, Pair{3, 3}, Pair{1, 1}, nil, "same", 0, nil, Windows{3, 3, 1, 1, 1, 1, 1, 1, 1, 1}},
		{Shape{9, 8, 1}, Pair{4, 4}, nil, nil, "same", 0, &kernels.Window{H: 9, W: 8, C: 1, OH: 9, OW: 8, KH: 4, KW: 4, SH: 1, SW: 1, DH: 1, DW: 1, PadTop: 1, PadLeft: 1, Groups: 1}, Windows{4, 4, 1, 1, 1, 1, 1, 1, 2, 2}},
		{Shape{9, 8, 1}, Pair{3, 1}, nil, nil, "same", 0, &kernels.Window{H: 9, W: 8, C: 1, OH: 9, OW: 8, KH: 3, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, PadTop: 1, Groups: 1}, Windows{3, 1, 1, 1, 1, 1, 1, 0, 1, 0}},
		{Shape{9, 8, 1}, Pair{3, 3}, nil, Pair{2, 3}, "same", 0, &kernels.Window{H: 9, W: 8, C: 1, OH: 9, OW: 8, KH: 3, KW: 3, SH: 1, SW: 1, DH: 2, DW: 3, PadTop: 2, PadLeft: 3, Groups: 1}, Windows{3, 3, 1, 1, 2, 3, 2, 3, 2, 3}},
		{Shape{9, 8, 1}, Pair{2, 2}, nil, Pair{3, 3}, "valid", 0, &kernels.Window{H: 9, W: 8, C: 1, OH: 6, OW: 5, KH: 2, KW: 2, SH: 1, SW: 1, DH: 3, DW: 3, Groups: 1}, Windows{2, 2, 1, 1, 3, 3, 0, 0, 0, 0}},
		{Shape{9, 8, 4}, Pair{3, 3}, nil, nil, "same", 2, &kernels.Window{H: 9, W: 8, C: 4, OH: 9, OW: 8, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadTop: 1, PadLeft: 1, Groups: 2}, Windows{3, 3, 1, 1, 1, 1, 1, 1, 1, 1}},
	} {
		spec := ModelSpec{Format: SpecFormat, Input: [3]int{c.in.H, c.in.W, c.in.C}, Layers: []LayerSpec{
			{Type: "conv2d", Filters: 2, KernelSize: c.k, Strides: c.strides, DilationRate: c.dilation, Padding: c.padding, Groups: c.groups},
			{Type: "flatten"}, {Type: "dense", Units: 10, Activation: "softmax"}}}
		m, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Layers[0].rec.(*conv2d).windows
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("%+v: windows %+v, want %+v", spec.Layers[0], got, c.want)
		}
		if pads := ConvWindows(m.Layers[0]); pads != c.wantPads {
			t.Errorf("%+v: export windows %+v, want %+v", spec.Layers[0], pads, c.wantPads)
		}
	}
}

// TestConvRefusesBadWindows: kernel sizes, strides, dilation and padding
// out of range, dilation with strides, groups that do not divide the
// channels, and a "valid" window larger than its input, each in one line
// naming the layer.
func TestConvRefusesBadWindows(t *testing.T) {
	model := func(conv string) string {
		return `{"format":"vkcnn-sequential-1","input_shape":[8,8,4],"layers":[` + conv +
			`,{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`
	}
	for conv, want := range map[string]string{
		`{"type":"conv2d","filters":2,"kernel_size":3,"strides":0}`:                         "layer 1 (conv2d_1): strides [0 0]: rows and columns, each 1 to 31",
		`{"type":"conv2d","filters":2,"kernel_size":3,"strides":[1,2,3]}`:                   "[1,2,3] is not a number or a list of two",
		`{"type":"conv2d","filters":2,"kernel_size":3,"padding":"causal"}`:                  `layer 1 (conv2d_1): padding "causal" (same or valid)`,
		`{"type":"conv2d","filters":2,"kernel_size":9,"padding":"valid"}`:                   `layer 1 (conv2d_1): input (None, 8, 8, 4) is smaller than the 9x9 window, which "valid" padding keeps inside`,
		`{"type":"conv2d","filters":2,"kernel_size":3,"dilation_rate":4,"padding":"valid"}`: `layer 1 (conv2d_1): input (None, 8, 8, 4) is smaller than the 9x9 window, which "valid" padding keeps inside`,
		`{"type":"conv2d","filters":2}`:                                                     "layer 1 (conv2d_1): kernel_size []: rows and columns, each 1 to 31",
		`{"type":"conv2d","filters":2,"kernel_size":[3,32]}`:                                "layer 1 (conv2d_1): kernel_size [3 32]: rows and columns, each 1 to 31",
		`{"type":"conv2d","filters":2,"kernel_size":3,"dilation_rate":0}`:                   "layer 1 (conv2d_1): dilation_rate [0 0]: rows and columns, each 1 to 31",
		`{"type":"conv2d","filters":2,"kernel_size":3,"strides":2,"dilation_rate":[1,2]}`:   "layer 1 (conv2d_1): dilation_rate [1 2] with strides [2 2]: Keras takes one or the other above 1",
		`{"type":"conv2d","filters":2,"kernel_size":3,"groups":3}`:                          "layer 1 (conv2d_1): groups 3 must divide the input's 4 channels and the 2 filters",
		`{"type":"conv2d","filters":3,"kernel_size":3,"groups":2}`:                          "layer 1 (conv2d_1): groups 2 must divide the input's 4 channels and the 3 filters",
		`{"type":"conv2d","filters":2,"kernel_size":3,"groups":-1}`:                         "layer 1 (conv2d_1): groups -1 must divide",
		`{"type":"depthwiseconv2d","kernel_size":3,"strides":2,"dilation_rate":2}`:          "layer 1 (depthwise_conv2d_1): dilation_rate [2 2] with strides [2 2]: Keras takes one or the other above 1",
		`{"type":"separableconv2d","filters":2,"kernel_size":[0,3]}`:                        "layer 1 (separable_conv2d_1): kernel_size [0 3]: rows and columns, each 1 to 31",
		`{"type":"depthwiseconv2d","kernel_size":3,"groups":2}`:                             "layer 1: a depthwiseconv2d layer takes no groups",
		`{"type":"batchnorm","strides":2},{"type":"conv2d","filters":2,"kernel_size":3}`:    "layer 1: a batchnorm layer takes no strides",
	} {
		_, err := ParseSpec([]byte(model(conv)))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want %q", conv, err, want)
		}
	}
}

// TestStridesRoundTrip: model.json writes equal strides as one number.
func TestStridesRoundTrip(t *testing.T) {
	spec := stridedSpec()
	data, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"strides": 2
`) || !strings.Contains(string(data), `"strides": [`) {
		t.Fatalf("strides written as\n%s", data)
	}
	back, err := ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.JSON(); string(again) != string(data) {
		t.Fatalf("round trip changed model.json:\n%s\n%s", data, again)
	}
}

// usefulShare is the share of a strided convolution's input-gradient
// multiply-adds that count: the windows' gradient (a GEMM over every tap)
// spends some on taps in the padding, which col2im never reads; a direct
// transpose over the output gradient with zeros between its pixels would
// spend all but 1/(SH*SW) of its taps on zeros.
func usefulShare(g kernels.Window) float64 {
	inside := 0
	for oy := range g.OH {
		for ky := range g.KH {
			if y := oy*g.SH - g.PadTop + ky; y >= 0 && y < g.H {
				inside++
			}
		}
	}
	across := 0
	for ox := range g.OW {
		for kx := range g.KW {
			if x := ox*g.SW - g.PadLeft + kx; x >= 0 && x < g.W {
				across++
			}
		}
	}
	return float64(inside*across) / float64(g.OH*g.KH*g.OW*g.KW)
}

// TestStridedInputGradientSkipsZeros states the useful share of the
// strided convolutions of resnet20's shapes (BENCHMARKS quotes it).
func TestStridedInputGradientSkipsZeros(t *testing.T) {
	for _, c := range []struct {
		in      Shape
		k       int
		atLeast float64
	}{{Shape{32, 32, 16}, 3, 0.95}, {Shape{16, 16, 32}, 3, 0.9}, {Shape{28, 28, 16}, 3, 0.95}, {Shape{14, 14, 32}, 3, 0.9}, {Shape{32, 32, 16}, 1, 1}} {
		g, _ := convWindow(c.in, LayerSpec{KernelSize: Pair{c.k, c.k}, Strides: Pair{2, 2}})
		share := usefulShare(g)
		t.Logf("%v, %dx%d kernel, stride 2: %.1f%% of the input gradient's multiply-adds count (a zero-inserted transpose: 25%%)", c.in, c.k, c.k, 100*share)
		if share < c.atLeast {
			t.Errorf("%v, kernel %d: a useful share of %.3f, want at least %.2f", c.in, c.k, share, c.atLeast)
		}
	}
}

// TestGroupedKernelFans: a grouped kernel [kh, kw, C/groups, filters]
// draws with Keras' fans of its shape (and PyTorch's): a group's inputs
// in, every filter out.
func TestGroupedKernelFans(t *testing.T) {
	m, err := Build(ModelSpec{Format: SpecFormat, Input: [3]int{8, 8, 6}, Layers: []LayerSpec{
		{Type: "conv2d", Filters: 4, KernelSize: Pair{3, 2}, Groups: 2},
		{Type: "flatten"}, {Type: "dense", Units: 10, Activation: "softmax"}}})
	if err != nil {
		t.Fatal(err)
	}
	k := m.Layers[0].Params[0]
	if k.FanIn != 3*2*3 || k.FanOut != 3*2*4 {
		t.Errorf("fans %d, %d; want %d, %d", k.FanIn, k.FanOut, 3*2*3, 3*2*4)
	}
}

package nn

import (
	"strings"
	"testing"
)

// TestPoolingRefusals: each bad pooling or padding setting is refused in
// one line that names the layer.
func TestPoolingRefusals(t *testing.T) {
	model := func(layers string) string {
		return `{"format":"vkcnn-sequential-1","input_shape":[7,6,1],"layers":[` + layers + `,{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`
	}
	for layers, want := range map[string]string{
		`{"type":"maxpool2d","pool_size":0}`:                               "layer 1 (max_pooling2d_1): pool_size [0 0]: rows and columns, from 1 to the input's 7x6",
		`{"type":"avgpool2d","pool_size":[3,7]}`:                           "layer 1 (average_pooling2d_1): pool_size [3 7]: rows and columns, from 1 to the input's 7x6",
		`{"type":"maxpool2d","strides":[0,1]}`:                             "layer 1 (max_pooling2d_1): strides [0 1]: rows and columns",
		`{"type":"avgpool2d","padding":"causal"}`:                          `layer 1 (average_pooling2d_1): padding "causal" (same or valid)`,
		`{"type":"maxpool2d","padding":1}`:                                 `layer 1: padding [[1 1] [1 1]]: a maxpool2d layer's padding is "same" or "valid"`,
		`{"type":"zeropadding2d"}`:                                         "layer 1 (zero_padding2d_1): no padding",
		`{"type":"zeropadding2d","padding":"same"}`:                        `layer 1: padding "same": a zeropadding2d layer's padding is numbers of zeros`,
		`{"type":"zeropadding2d","padding":[[1,-1],[0,0]]}`:                "layer 1 (zero_padding2d_1): padding [[1 -1] [0 0]]: each side 0..4096",
		`{"type":"zeropadding2d","padding":[1,2,3]}`:                       "padding [1,2,3]: a name, a number, [rows, columns] or [[top, bottom], [left, right]]",
		`{"type":"globalmaxpool2d","pool_size":2}`:                         "layer 1: a globalmaxpool2d layer takes no pool_size",
		`{"type":"flatten"},{"type":"globalmaxpool2d"}`:                    "layer 2 (global_max_pooling2d_1): global pooling after flatten or dense",
		`{"type":"flatten"},{"type":"zeropadding2d","padding":1}`:          "layer 2 (zero_padding2d_1): zero padding after flatten or dense",
		`{"type":"maxpool2d","pool_size":3,"strides":1,"padding":"valid"}`: "",
	} {
		_, err := ParseSpec([]byte(model(layers)))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", layers, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line with %q", layers, err, want)
		}
	}
}

// TestZeroPaddingForms reads zeropadding2d's three forms of padding and
// writes them back as [[top, bottom], [left, right]].
func TestZeroPaddingForms(t *testing.T) {
	for js, want := range map[string][2][2]int{`2`: {{2, 2}, {2, 2}}, `[1,3]`: {{1, 1}, {3, 3}}, `[[0,1],[2,3]]`: {{0, 1}, {2, 3}}} {
		spec, err := ParseSpec([]byte(`{"format":"vkcnn-sequential-1","input_shape":[7,6,1],"layers":[{"type":"zeropadding2d","padding":` + js + `},{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if got := spec.Layers[0].ZeroPadding; got == nil || *got != want {
			t.Fatalf("padding %s read as %v, want %v", js, got, want)
		}
		data, err := spec.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(data)
		if err != nil || *back.Layers[0].ZeroPadding != want {
			t.Fatalf("padding %s written as %s: %v", js, data, err)
		}
	}
}

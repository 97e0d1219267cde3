package keras

import (
	"reflect"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// TestPoolingClasses reads MaxPooling2D's and AveragePooling2D's options
// (Keras' strides null: the pool size), GlobalMaxPooling2D and
// ZeroPadding2D's padding as Keras writes it, and builds the model.
func TestPoolingClasses(t *testing.T) {
	conv := layer("Conv2D", convConfig)
	spec, err := Read(sequential(conv,
		layer("ZeroPadding2D", map[string]any{"name": "z", "trainable": true, "dtype": "float32", "padding": [][]int{{1, 2}, {0, 1}}, "data_format": "channels_last"}),
		layer("MaxPooling2D", map[string]any{"name": "m", "pool_size": []int{3, 3}, "strides": []int{2, 1}, "padding": "same", "data_format": "channels_last"}),
		layer("AveragePooling2D", map[string]any{"name": "a", "pool_size": []int{2, 3}, "strides": nil, "padding": "valid"}),
		layer("GlobalMaxPooling2D", map[string]any{"name": "g", "data_format": "channels_last", "keepdims": false}),
		layer("Dense", denseConfig)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []nn.LayerSpec{
		{Type: "zeropadding2d", Name: "z", ZeroPadding: &[2][2]int{{1, 2}, {0, 1}}},
		{Type: "maxpool2d", Name: "m", PoolSize: nn.Pair{3, 3}, Strides: nn.Pair{2, 1}, Padding: "same"},
		{Type: "avgpool2d", Name: "a", PoolSize: nn.Pair{2, 3}, Padding: "valid"},
		{Type: "globalmaxpool2d", Name: "g"},
	}
	for i, w := range want {
		got := spec.Layers[i+1]
		got.Trainable, got.Initializers = nil, nil
		if !reflect.DeepEqual(got, w) {
			t.Errorf("layer %s: read as %+v, want %+v", w.Name, got, w)
		}
	}
	m, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	// 8x8 padded to 11x9, pooled "same" at steps of 2 and 1 to 6x9, then
	// in 2x3 windows at steps of 2 and 3 to 3x3.
	if got := m.Layers[3].Out; got != (nn.Shape{H: 3, W: 3, C: 2}) {
		t.Errorf("average pooling's output %v, want 3x3x2", got)
	}
}

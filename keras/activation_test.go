package keras

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// read is the layer spec of the layer named name.
func readLayer(t *testing.T, data []byte, name string) nn.LayerSpec {
	t.Helper()
	spec, err := Read(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range spec.Layers {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("no layer %s in %+v", name, spec.Layers)
	return nn.LayerSpec{}
}

// describe is a layer's type, activation and alpha, as a test states them.
func describe(l nn.LayerSpec) string {
	out := l.Type
	if l.Activation != "" {
		out += " " + l.Activation
	}
	if l.Alpha != nil {
		out += fmt.Sprintf(" %g", *l.Alpha)
	}
	return out
}

// TestActivationsTensorFlowJS: each activation of TensorFlow.js's file
// (Keras 2's dialect), in its layer.
func TestActivationsTensorFlowJS(t *testing.T) {
	data := readFile(t, tfjsActFile)
	for name, want := range map[string]string{
		"conv_hard_sigmoid": "conv2d hard_sigmoid", // clip(0.2x + 0.5, 0, 1), as in Keras 2
		"elu":               "activation elu",
		"conv_swish":        "conv2d swish",
		"leaky_default":     "leaky_relu 0.3",
		"conv_gelu":         "conv2d gelu",
		"leaky":             "leaky_relu 0.1",
		"relu6":             "activation relu6",
		"elu_layer":         "activation elu 1",
		"selu":              "activation selu",
		"tanh":              "activation tanh",
		"softsign":          "activation softsign",
		"hard_sigmoid":      "activation hard_sigmoid",
		"hidden":            "dense softplus",
		"sigmoid":           "activation sigmoid",
		"hidden_relu6":      "dense relu6",
		"logits":            "dense softmax",
	} {
		if got := describe(readLayer(t, data, name)); got != want {
			t.Errorf("%s reads as %s, want %s", name, got, want)
		}
	}
}

// keras3Sequential is a Keras 3 Sequential model of the layers: its
// objects name their module where module is true, and the file its
// keras_version.
func keras3Sequential(version string, module bool, layers ...map[string]any) []byte {
	m := map[string]any{"class_name": "Sequential", "config": map[string]any{"name": "m", "layers": layers}}
	if version != "" {
		m["keras_version"] = version
	}
	if module {
		m["module"] = "keras"
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}

// TestActivationDialects: each Keras activation, layer and setting as its
// dialect means it: hard_sigmoid is Keras 3's relu6(x + 3) / 6 in a Keras
// 3 file (by its module, or its keras_version alone), Keras 2's clip in
// the others; LeakyReLU's slope is alpha in Keras 2, negative_slope in
// Keras 3, 0.3 in both where unstated.
func TestActivationDialects(t *testing.T) {
	conv := func(activation any) map[string]any {
		return layer("Conv2D", with(convConfig, map[string]any{"name": "x", "batch_input_shape": nil, "activation": activation}))
	}
	act := func(activation string) map[string]any {
		return layer("Activation", map[string]any{"name": "x", "activation": activation})
	}
	type file func(...map[string]any) []byte
	keras2 := file(sequential)
	tfjs := file(func(l ...map[string]any) []byte { return keras3Sequential("tfjs-layers 4.22.0", false, l...) })
	keras3 := file(func(l ...map[string]any) []byte { return keras3Sequential("3.6.0", true, l...) })
	keras3ByVersion := file(func(l ...map[string]any) []byte { return keras3Sequential("3.6.0", false, l...) })
	for _, c := range []struct {
		name  string
		file  file
		layer map[string]any
		want  string
	}{
		{"Keras 2's hard_sigmoid", keras2, act("hard_sigmoid"), "activation hard_sigmoid"},
		{"Keras 2's hard_sigmoid in a convolution", keras2, conv("hard_sigmoid"), "conv2d hard_sigmoid"},
		{"TensorFlow.js's hard_sigmoid", tfjs, act("hard_sigmoid"), "activation hard_sigmoid"},
		{"Keras 3's hard_sigmoid", keras3, act("hard_sigmoid"), "activation hard_sigmoid_keras3"},
		{"Keras 3's hard_sigmoid in a convolution", keras3, conv("hard_sigmoid"), "conv2d hard_sigmoid_keras3"},
		{"Keras 3's hard_sigmoid by keras_version", keras3ByVersion, act("hard_sigmoid"), "activation hard_sigmoid_keras3"},
		{"gelu is exact", keras2, act("gelu"), "activation gelu"},
		{"Keras 3's gelu is exact", keras3, conv("gelu"), "conv2d gelu"},
		{"TensorFlow.js's gelu_new", tfjs, act("gelu_new"), "activation gelu_tanh"},
		{"swish", keras2, conv("swish"), "conv2d swish"},
		{"silu", keras3, act("silu"), "activation swish"},
		{"elu", keras2, act("elu"), "activation elu"},
		{"selu", keras2, conv("selu"), "conv2d selu"},
		{"sigmoid", keras2, act("sigmoid"), "activation sigmoid"},
		{"tanh", keras3, conv("tanh"), "conv2d tanh"},
		{"softplus", keras2, act("softplus"), "activation softplus"},
		{"softsign", keras2, act("softsign"), "activation softsign"},
		{"relu6", keras3, act("relu6"), "activation relu6"},
		{"Activation('relu') is the relu layer", keras2, act("relu"), "relu"},
		{"a convolution's relu", keras2, conv("relu"), "conv2d relu"},
		{"Keras 3's leaky_relu function", keras3, conv("leaky_relu"), "conv2d leaky_relu 0.2"},
		{"Keras 2's LeakyReLU", keras2, layer("LeakyReLU", map[string]any{"name": "x", "alpha": 0.1}), "leaky_relu 0.1"},
		{"Keras 2's LeakyReLU by default", keras2, layer("LeakyReLU", map[string]any{"name": "x"}), "leaky_relu 0.3"},
		{"Keras 3's LeakyReLU", keras3, layer("LeakyReLU", map[string]any{"name": "x", "negative_slope": 0.05}), "leaky_relu 0.05"},
		{"Keras 3's LeakyReLU by default", keras3, layer("LeakyReLU", map[string]any{"name": "x"}), "leaky_relu 0.3"},
		{"ReLU capped at 6", keras2, layer("ReLU", map[string]any{"name": "x", "max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}), "activation relu6"},
		{"ReLU", keras3, layer("ReLU", map[string]any{"name": "x", "max_value": nil, "negative_slope": 0.0, "threshold": 0.0}), "relu"},
		{"ELU", keras2, layer("ELU", map[string]any{"name": "x", "alpha": 0.5}), "activation elu 0.5"},
		{"ELU by default", keras3, layer("ELU", map[string]any{"name": "x"}), "activation elu"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.file(layer("Conv2D", convConfig), c.layer, flat, layer("Dense", denseConfig))
			if got := describe(readLayer(t, data, "x")); got != c.want {
				t.Errorf("reads as %s, want %s", got, c.want)
			}
		})
	}
}

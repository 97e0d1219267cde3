package keras

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// layer is a Keras layer object with its config.
func layer(class string, config map[string]any) map[string]any {
	return map[string]any{"class_name": class, "config": config}
}

// with is config with entries set (nil: deleted).
func with(config map[string]any, set map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range config {
		out[k] = v
	}
	for k, v := range set {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

var (
	convConfig = map[string]any{"name": "c", "trainable": true, "batch_input_shape": []any{nil, 8, 8, 1}, "dtype": "float32",
		"filters": 2, "kernel_size": []int{3, 3}, "strides": []int{1, 1}, "padding": "same", "data_format": "channels_last",
		"dilation_rate": []int{1, 1}, "activation": "relu", "use_bias": true, "kernel_regularizer": nil, "kernel_constraint": nil}
	denseConfig = map[string]any{"name": "d", "trainable": true, "units": 10, "activation": "softmax", "use_bias": true}
	flat        = layer("Flatten", map[string]any{"name": "f"})
)

// sequential is a Keras 2.2.4 Sequential model of the layers.
func sequential(layers ...map[string]any) []byte {
	data, err := json.Marshal(map[string]any{"class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow",
		"config": map[string]any{"name": "m", "layers": layers}})
	if err != nil {
		panic(err)
	}
	return data
}

// graphOf is a Keras 2 graph: an input i, a convolution c, a flatten
// and a dense layer d with the inbound nodes given, and the outputs.
func graphOf(outputs, denseInbound string) []byte {
	return []byte(`{"class_name": "Model", "keras_version": "2.2.4", "config": {"name": "g", "input_layers": [["i", 0, 0]], ` + outputs + `, "layers": [
		{"name": "i", "class_name": "InputLayer", "config": {"name": "i", "batch_input_shape": [null, 8, 8, 1], "dtype": "float32", "sparse": false}, "inbound_nodes": []},
		{"name": "c", "class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}, "inbound_nodes": [[["i", 0, 0, {}]]]},
		{"name": "f", "class_name": "Flatten", "config": {"name": "f"}, "inbound_nodes": [[["c", 0, 0, {}]]]},
		{"name": "d", "class_name": "Dense", "config": {"name": "d", "units": 10, "activation": "softmax"}, ` + denseInbound + `}]}}`)
}

// TestRefusals: what vkcnn cannot train is refused in one line that
// names the layer, its class and what vkcnn reads instead.
func TestRefusals(t *testing.T) {
	conv := func(set map[string]any) map[string]any { return layer("Conv2D", with(convConfig, set)) }
	dense := func(set map[string]any) map[string]any { return layer("Dense", with(denseConfig, set)) }
	l1 := map[string]any{"class_name": "L1L2", "config": map[string]any{"l1": 0.0, "l2": 0.01}}
	maxNorm := map[string]any{"class_name": "MaxNorm", "config": map[string]any{"max_value": 2, "axis": 0}}
	twoInputs, _ := json.Marshal(map[string]any{"class_name": "Model", "config": map[string]any{"name": "g", "layers": []any{},
		"input_layers": [][]any{{"a", 0, 0}, {"b", 0, 0}}, "output_layers": [][]any{{"c", 0, 0}}}})
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"another class", sequential(conv(nil), layer("Conv1D", map[string]any{"name": "x"}), flat, dense(nil)),
			"layer x (Conv1D): vkcnn reads the classes Activation, Add, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, DepthwiseConv2D, Dropout, ELU, "},
		{"a nested model", sequential(conv(nil), layer("Sequential", map[string]any{"name": "inner", "layers": []any{}}), flat, dense(nil)),
			"layer inner (Sequential): a nested model"},
		{"a graph of two inputs", twoInputs, `input_layers [["a",0,0],["b",0,0]]: vkcnn reads models of one input`},
		{"a graph of two outputs", graphOf(`"output_layers": [["d", 0, 0], ["c", 0, 0]]`, `"inbound_nodes": [[["c", 0, 0, {}]]]`),
			`output_layers [["d",0,0],["c",0,0]]: vkcnn reads models of one output`},
		{"a shared layer", graphOf(`"output_layers": [["d", 0, 0]]`, `"inbound_nodes": [[["c", 0, 0, {}]], [["c", 0, 0, {}]]]`),
			"layer d (Dense): called 2 times: vkcnn's layers are each called once (no shared layers)"},
		{"a second output of a layer", graphOf(`"output_layers": [["d", 0, 0]]`, `"inbound_nodes": [[["c", 0, 1, {}]]]`),
			`layer d (Dense): inbound_nodes: ["c",0,1,{}]: vkcnn reads the first output of each layer's one call`},
		{"an output that is not the last layer", graphOf(`"output_layers": [["c", 0, 0]]`, `"inbound_nodes": [[["c", 0, 0, {}]]]`),
			"the output c is not the last layer"},
		{"channels_first", sequential(conv(map[string]any{"data_format": "channels_first"}), flat, dense(nil)),
			`layer c (Conv2D): data_format "channels_first": vkcnn's tensors are channels_last`},
		{"a regularizer", sequential(conv(map[string]any{"kernel_regularizer": l1}), flat, dense(nil)),
			"layer c (Conv2D): kernel_regularizer L1L2: vkcnn has no regularizers or constraints (--lenient drops them)"},
		{"a constraint", sequential(conv(map[string]any{"kernel_constraint": maxNorm}), flat, dense(nil)),
			"layer c (Conv2D): kernel_constraint MaxNorm: vkcnn has no regularizers or constraints"},
		{"an unknown initializer", sequential(conv(map[string]any{"kernel_initializer": map[string]any{"class_name": "Orthogonal", "config": map[string]any{"gain": 1}}}), flat, dense(nil)),
			"layer c (Conv2D): kernel_initializer: initializer Orthogonal: vkcnn reads VarianceScaling"},
		{"an activation vkcnn lacks", sequential(conv(map[string]any{"activation": "mish"}), flat, dense(nil)),
			`layer c (Conv2D): activation "mish": vkcnn reads elu, gelu, gelu_new, hard_sigmoid, linear, relu, relu6, selu, sigmoid, silu, softplus, softsign, swish, tanh, Keras 3's leaky_relu, and softmax on the last Dense layer`},
		{"an Activation vkcnn lacks", sequential(conv(nil), layer("Activation", map[string]any{"name": "a", "activation": "hard_silu"}), flat, dense(nil)),
			`layer a (Activation): activation "hard_silu": vkcnn reads elu, gelu, `},
		{"Keras 2's leaky_relu function, which it lacks", sequential(conv(map[string]any{"activation": "leaky_relu"}), flat, dense(nil)),
			`layer c (Conv2D): activation "leaky_relu": vkcnn reads `},
		{"an activation that is no name", sequential(conv(nil), layer("Activation", map[string]any{"name": "a", "activation": map[string]any{"class_name": "Mish"}}), flat, dense(nil)),
			`layer a (Activation): activation {"class_name":"Mish"}: want a name`},
		{"a dilated strided convolution", sequential(conv(map[string]any{"dilation_rate": []int{2, 2}, "strides": []int{2, 1}}), flat, dense(nil)),
			"layer c (Conv2D): dilation_rate [2 2] with strides [2 1]: Keras takes one or the other above 1"},
		{"a dense layer without bias", sequential(conv(nil), flat, dense(map[string]any{"use_bias": false})),
			"layer d (Dense): use_bias false: vkcnn's dense takes true"},
		{"groups that do not divide the channels", sequential(conv(map[string]any{"groups": 2}), flat, dense(nil)),
			"layer c (Conv2D): groups 2 must divide the input's 1 channels and the 2 filters"},
		{"global pooling that keeps its dimensions", sequential(conv(nil), layer("GlobalAveragePooling2D", map[string]any{"name": "g", "keepdims": true}), dense(nil)),
			"layer g (GlobalAveragePooling2D): keepdims true: vkcnn's globalavgpool2d takes false"},
		{"a kernel of no rows", sequential(conv(map[string]any{"kernel_size": []int{0, 3}}), flat, dense(nil)),
			"layer c (Conv2D): kernel_size [0 3]: rows and columns, each 1 to 31"},
		{"global max pooling that keeps its dimensions", sequential(conv(nil), layer("GlobalMaxPooling2D", map[string]any{"name": "g", "keepdims": true}), dense(nil)),
			"layer g (GlobalMaxPooling2D): keepdims true: vkcnn's globalmaxpool2d takes false"},
		{"zero padding of three sides", sequential(conv(nil), layer("ZeroPadding2D", map[string]any{"name": "z", "padding": []int{1, 2, 3}}), flat, dense(nil)),
			"layer z (ZeroPadding2D): padding [1,2,3]: padding [1,2,3]: a name, a number, [rows, columns] or [[top, bottom], [left, right]]"},
		{"batch normalization without beta", sequential(conv(nil), layer("BatchNormalization", map[string]any{"name": "b", "axis": -1, "center": false}), flat, dense(nil)),
			"layer b (BatchNormalization): center false: vkcnn's batchnorm takes true"},
		{"batch normalization of another axis", sequential(conv(nil), layer("BatchNormalization", map[string]any{"name": "b", "axis": 1}), flat, dense(nil)),
			"layer b (BatchNormalization): axis 1"},
		{"a ReLU capped at 5", sequential(conv(nil), layer("ReLU", map[string]any{"name": "r", "max_value": 5.0}), flat, dense(nil)),
			"layer r (ReLU): max_value 5, negative_slope 0, threshold 0: vkcnn reads ReLU as relu (max_value null, negative_slope 0, threshold 0) or relu6 (max_value 6)"},
		{"a leaky ReLU layer", sequential(conv(nil), layer("ReLU", map[string]any{"name": "r", "max_value": 6.0, "negative_slope": 0.1, "threshold": 0.0}), flat, dense(nil)),
			"layer r (ReLU): max_value 6, negative_slope 0.1, threshold 0: vkcnn reads ReLU as relu"},
		{"a thresholded ReLU", sequential(conv(nil), layer("ReLU", map[string]any{"name": "r", "threshold": 1.0}), flat, dense(nil)),
			"layer r (ReLU): max_value null, negative_slope 0, threshold 1: vkcnn reads ReLU as relu"},
		{"a LeakyReLU of negative slope", sequential(conv(nil), layer("LeakyReLU", map[string]any{"name": "l", "alpha": -0.1}), flat, dense(nil)),
			"layer l (LeakyReLU): leaky_relu's alpha must be at least 0 (got -0.1)"},
		{"an ELU with an entry vkcnn does not read", sequential(conv(nil), layer("ELU", map[string]any{"name": "e", "alpha": 1.0, "beta": 2}), flat, dense(nil)),
			"layer e (ELU): config entries vkcnn does not read: beta 2"},
		{"float16", sequential(conv(map[string]any{"dtype": "float16"}), flat, dense(nil)),
			"layer c (Conv2D): dtype float16: vkcnn trains float32"},
		{"an entry vkcnn does not read", sequential(conv(map[string]any{"groups": 1, "lora": true}), flat, dense(nil)),
			"layer c (Conv2D): config entries vkcnn does not read: lora true"},
		{"no input shape", sequential(conv(map[string]any{"batch_input_shape": nil}), flat, dense(nil)),
			"no input shape: the first layer has no batch_input_shape"},
		{"a softmax before the last layer", sequential(conv(nil), layer("Activation", map[string]any{"name": "s", "activation": "softmax"}), flat, dense(nil)),
			"layer s (Activation): a softmax is only read as the model's last layer"},
		{"a softmax after an activation", sequential(conv(nil), flat, dense(map[string]any{"activation": "relu"}), layer("Activation", map[string]any{"name": "s", "activation": "softmax"})),
			"the last Activation('softmax') follows d, not a Dense layer without activation"},
		{"an HDF5 file", []byte("\x89HDF\r\n\x1a\n\x00\x00"), "an HDF5 (.h5) file: vkcnn reads a Keras model's architecture from model.to_json()'s JSON or a .keras archive, and no weights"},
		{"a zip without config.json", archive(t, nil, "3.6.0"), "a zip archive without config.json (a .keras file has one)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.data, Options{})
			if err == nil {
				t.Fatalf("read, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%v\nwant one line with %q", err, c.want)
			}
		})
	}
}

// TestLenient: --lenient drops regularizers and constraints, a warning
// line each.
func TestLenient(t *testing.T) {
	l2 := map[string]any{"class_name": "L1L2", "config": map[string]any{"l1": 0.0, "l2": 0.01}}
	nonNeg := map[string]any{"class_name": "NonNeg", "config": map[string]any{}}
	data := sequential(layer("Conv2D", with(convConfig, map[string]any{"kernel_regularizer": l2, "kernel_constraint": nonNeg})), flat,
		layer("Dense", with(denseConfig, map[string]any{"activity_regularizer": l2})))
	var warnings []string
	spec, err := Read(data, Options{Lenient: true, Warn: func(line string) { warnings = append(warnings, line) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"layer c (Conv2D): kernel_constraint NonNeg dropped (--lenient)",
		"layer c (Conv2D): kernel_regularizer L1L2 dropped (--lenient)",
		"layer d (Dense): activity_regularizer L1L2 dropped (--lenient)",
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(spec.Layers) != 3 {
		t.Errorf("%d layers, want 3", len(spec.Layers))
	}
}

// TestConvolutionWindows: Conv2D's even and non-square kernels, its
// dilation_rate and groups (tf.keras 2.3 on) read as conv2d's, with
// Keras' kernel shapes and counts.
func TestConvolutionWindows(t *testing.T) {
	data := sequential(
		layer("Conv2D", with(convConfig, map[string]any{"filters": 4, "kernel_size": []int{4, 4}})),
		layer("Conv2D", with(convConfig, map[string]any{"name": "g", "batch_input_shape": nil, "filters": 6, "kernel_size": []int{3, 1},
			"dilation_rate": []int{2, 1}, "groups": 2})),
		flat, layer("Dense", denseConfig))
	m := build(t, data, Options{})
	c, g := m.Layers[0], m.Layers[1]
	if !slices.Equal(c.Spec.KernelSize, nn.Pair{4, 4}) || !slices.Equal(g.Spec.KernelSize, nn.Pair{3, 1}) ||
		!slices.Equal(g.Spec.DilationRate, nn.Pair{2, 1}) || g.Spec.Groups != 2 {
		t.Fatalf("read %+v and %+v", c.Spec, g.Spec)
	}
	if shape := g.Params[0].Shape; !slices.Equal(shape, []int{3, 1, 2, 6}) || g.Out != (nn.Shape{H: 8, W: 8, C: 6}) {
		t.Errorf("g's kernel is %v, its output %v; want [3 1 2 6] and 8x8x6", shape, g.Out)
	}
	if n := g.Params[0].Size() + g.Params[1].Size(); n != 42 {
		t.Errorf("g has %d parameters, Keras counts 3*1*(4/2)*6 + 6 = 42", n)
	}
}

// TestWindowsFile: TensorFlow.js's even, non-square and dilated kernels
// read as model.json's, with TensorFlow's output sides (TensorFlow.js's
// own: cli's TestTensorFlowJSMatchesWindows runs the file in it).
func TestWindowsFile(t *testing.T) {
	m := build(t, readFile(t, tfjsWindowsFile), Options{})
	want := map[string]string{
		"even": "[4 4] [] (28, 28, 8)", "tall": "[3 1] [] (14, 28, 8)", "dilated": "[3 3] [2 2] (14, 28, 12)",
		"dilated_valid": "[2 3] [2 1] (12, 26, 12)", "dw": "[3 2] [] (12, 26, 24)", "sep": "[2 3] [2 2] (12, 26, 16)",
	}
	for _, l := range m.Layers {
		w, ok := want[l.Spec.Name]
		if !ok {
			continue
		}
		dilation := l.Spec.DilationRate
		if slices.Equal(dilation, nn.Pair{1, 1}) {
			dilation = nil
		}
		if got := fmt.Sprintf("%v %v (%d, %d, %d)", []int(l.Spec.KernelSize), []int(dilation), l.Out.H, l.Out.W, l.Out.C); got != w {
			t.Errorf("%s: kernel, dilation and output %s, want %s", l.Spec.Name, got, w)
		}
	}
}

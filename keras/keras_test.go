package keras

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/nodetest"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// The test files, of each dialect: the reference notebook's StandardCNN
// as Keras 2.0.6 writes it (written here from Keras 2.0.6's format), a
// Sequential model, a graph and a Sequential model of activations that
// TensorFlow.js layers 4.22.0 wrote (Keras 2.2.3's dialect;
// tools/kerascheck/write.js), and a Sequential
// model and a graph of Keras 3 (written here from Keras 3's format).
const (
	standardFile    = "testdata/standard_cnn_keras2.0.6.json"
	tfjsFile        = "testdata/tfjs_sequential.json"
	tfjsGraphFile   = "testdata/tfjs_functional.json"
	tfjsActFile     = "testdata/tfjs_activations.json"
	keras3File      = "testdata/keras3_sequential.json"
	keras3GraphFile = "testdata/keras3_functional.json"
	// tfjsDepthwiseFile: DepthwiseConv2D and SeparableConv2D.
	tfjsDepthwiseFile = "testdata/tfjs_depthwise.json"
	// tfjsWindowsFile: even, non-square and dilated kernels.
	tfjsWindowsFile = "testdata/tfjs_windows.json"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// archive is a .keras file of the config: config.json (none where config
// is nil) and metadata.json.
func archive(t *testing.T, config []byte, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"config.json": config, "metadata.json": []byte(`{"keras_version": "` + version + `", "date_saved": "2026-12-07@17:00:00"}`)} {
		if data == nil {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func build(t *testing.T, data []byte, opts Options) *nn.Model {
	t.Helper()
	spec, err := Read(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDialects reads each dialect's file: Keras' parameter counts, its
// layer names, frozen layers, batch normalization's settings and the
// initializers as the dialect means them.
func TestDialects(t *testing.T) {
	keras3 := readFile(t, keras3File)
	quoted, _ := json.Marshal(string(readFile(t, standardFile)))
	for _, c := range []struct {
		name             string
		data             []byte
		total, trainable int
		layers           string
		inits            map[string]nn.Initializer // by tensor
	}{
		{"Keras 2.0.6", readFile(t, standardFile), 35445522, 35445522,
			"conv2d_1 conv2d_2 conv2d_3 flatten_1 dense_1 dense_2 dropout_1 dense_3",
			map[string]nn.Initializer{"conv2d_1.kernel": nn.GlorotUniform, "dense_3.bias": nn.Zeros}},
		{"to_json() dumped as a JSON string", quoted, 35445522, 35445522,
			"conv2d_1 conv2d_2 conv2d_3 flatten_1 dense_1 dense_2 dropout_1 dense_3", nil},
		{"TensorFlow.js", readFile(t, tfjsFile), 28778, 28682,
			"conv_a bn_a pool_a conv_b relu_b pool_b flatten hidden hidden_relu drop logits",
			map[string]nn.Initializer{
				// TensorFlow.js's "normal" leaves the deviation uncorrected.
				"conv_a.kernel": {Type: "variance_scaling", Scale: 2, Mode: "fan_in", Distribution: "truncated_normal_uncorrected"},
				"conv_b.kernel": {Type: "variance_scaling", Scale: 1, Mode: "fan_in", Distribution: "uniform"},
				"conv_b.bias":   {Type: "constant", Value: 0.1},
				"hidden.kernel": {Type: "truncated_normal", Stddev: 0.02},
				"logits.kernel": {Type: "random_uniform", Minval: -0.1, Maxval: 0.1},
			}},
		{"Keras 3", keras3, 145130, 13962,
			"conv2d batch_normalization re_lu max_pooling2d conv2d_1 average_pooling2d flatten dense dropout dense_1",
			map[string]nn.Initializer{
				"conv2d.kernel":   {Type: "variance_scaling", Scale: 2, Mode: "fan_in", Distribution: "truncated_normal"},
				"conv2d_1.kernel": {Type: "variance_scaling", Scale: 2, Mode: "fan_out", Distribution: "untruncated_normal"},
				"dense.kernel":    nn.GlorotUniform,
				"dense_1.kernel":  {Type: "random_normal", Stddev: 0.01},
			}},
		{"Keras 3 .keras archive", archive(t, keras3, "3.6.0"), 145130, 13962, "", nil},
		{"TensorFlow.js graph", readFile(t, tfjsGraphFile), 2342, 2326,
			"stem branch branch_bn residual residual_relu down side joined pooled logits", nil},
		{"TensorFlow.js activations", readFile(t, tfjsActFile), 576, 576,
			"conv_hard_sigmoid elu conv_swish leaky_default conv_gelu leaky relu6 elu_layer selu tanh softsign hard_sigmoid pooled hidden sigmoid hidden_relu6 logits", nil},
		{"Keras 3 graph", readFile(t, keras3GraphFile), 8050, 7986,
			"conv2d batch_normalization activation conv2d_1 batch_normalization_1 add activation_1 conv2d_2 conv2d_3 concatenate global_average_pooling2d dense", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := build(t, c.data, Options{})
			if m.CountParams() != c.total || m.CountTrainable() != c.trainable {
				t.Errorf("%d parameters, %d trainable; Keras counts %d, %d", m.CountParams(), m.CountTrainable(), c.total, c.trainable)
			}
			var names []string
			for _, l := range m.Layers {
				names = append(names, l.Spec.Name)
			}
			if got := strings.Join(names, " "); c.layers != "" && got != c.layers {
				t.Errorf("layers %s, want %s", got, c.layers)
			}
			if last := m.Layers[len(m.Layers)-1]; last.Spec.Activation != "softmax" {
				t.Errorf("the last layer %s has activation %q, want the softmax", last.Spec.Name, last.Spec.Activation)
			}
			for _, p := range m.Params {
				if want, ok := c.inits[p.Name]; ok && p.Init != want {
					t.Errorf("%s starts as %+v, want %+v", p.Name, p.Init, want)
				}
			}
		})
	}
}

// TestDialectSettings: batch normalization's momentum and epsilon, and
// frozen layers, as the files state them.
func TestDialectSettings(t *testing.T) {
	for _, c := range []struct {
		file, bn, frozen  string
		momentum, epsilon float64
	}{{tfjsFile, "bn_a", "conv_a", 0.9, 1e-5}, {keras3File, "batch_normalization", "dense", 0.9, 1e-5}} {
		m := build(t, readFile(t, c.file), Options{})
		for _, l := range m.Layers {
			if l.Spec.Name == c.bn {
				if momentum, epsilon := nn.BatchNormSettings(l.Spec); momentum != c.momentum || epsilon != c.epsilon {
					t.Errorf("%s: %s has momentum %g, epsilon %g; want %g, %g", c.file, c.bn, momentum, epsilon, c.momentum, c.epsilon)
				}
			}
			for _, p := range l.Params {
				if frozen := l.Spec.Name == c.frozen; p.Frozen != frozen || (frozen && p.Trainable) {
					t.Errorf("%s: %s frozen %v, trainable %v", c.file, p.Name, p.Frozen, p.Trainable)
				}
			}
		}
	}
}

// TestVarianceScalingNormalByVersion: Keras corrects the deviation of
// its truncated "normal" from 2.2.0 on.
func TestVarianceScalingNormalByVersion(t *testing.T) {
	for _, c := range []struct {
		version string
		keras3  bool
		want    string
	}{
		{"2.0.6", false, "truncated_normal_uncorrected"}, {"2.1.6", false, "truncated_normal_uncorrected"},
		{"2.1.6-tf", false, "truncated_normal_uncorrected"}, {"2.2.0", false, "truncated_normal"},
		{"2.2.4-tf", false, "truncated_normal"}, {"2.15.0", false, "truncated_normal"},
		{"tfjs-layers 4.22.0", false, "truncated_normal_uncorrected"}, {"", true, "truncated_normal"},
	} {
		r := &reader{version: c.version, keras3: c.keras3}
		in, err := r.initializer(json.RawMessage(`{"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": null}}`))
		if err != nil || in.Distribution != c.want {
			t.Errorf("Keras %q (3: %v): %q (%v), want %q", c.version, c.keras3, in.Distribution, err, c.want)
		}
	}
}

// TestStandardCNN: the reference notebook's StandardCNN, as Keras 2.0.6
// wrote it, is the standard preset: the same tensors, the same initial
// weights from a seed (TestStandardCNNTrains trains both).
func TestStandardCNN(t *testing.T) {
	keras := build(t, readFile(t, standardFile), Options{})
	preset, err := nn.Preset("standard")
	if err != nil {
		t.Fatal(err)
	}
	standard, err := nn.Build(preset)
	if err != nil {
		t.Fatal(err)
	}
	if keras.CountParams() != 35445522 || len(keras.Params) != len(standard.Params) {
		t.Fatalf("%d parameters in %d tensors, want 35,445,522 in %d", keras.CountParams(), len(keras.Params), len(standard.Params))
	}
	for i, p := range keras.Params {
		q := standard.Params[i]
		if p.Name != q.Name || p.Offset != q.Offset || !slices.Equal(p.Shape, q.Shape) || p.Init != q.Init {
			t.Errorf("tensor %d: %s %v at %d (%+v), the preset's %s %v at %d (%+v)", i, p.Name, p.Shape, p.Offset, p.Init, q.Name, q.Shape, q.Offset, q.Init)
		}
	}
	a, b := keras.Init(7), standard.Init(7)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("initial weight %d: %g, the preset's %g", i, a[i], b[i])
		}
	}
}

// TestStandardCNNTrains trains the Keras 2.0.6 StandardCNN and the
// standard preset two steps at batch 2 from one seed on the device: the
// weights and Adam's moments after them are bit-identical.
func TestStandardCNNTrains(t *testing.T) {
	ctx := vktest.Open(t)
	preset, err := nn.Preset("standard")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Read(readFile(t, standardFile), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	images, labels := make([]byte, 6*28*28), make([]uint8, 6)
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = uint8(rng.IntN(10))
	}
	var results [2][]float32
	for i, s := range []nn.ModelSpec{preset, spec} {
		m, err := nn.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		net, err := nn.NewNet(ctx, m, 2, kernels.NewTuning(ctx.Info, kernels.FP32, nil), m.Init(11), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer net.Close()
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		for step := uint32(1); step <= 2; step++ {
			feed := nn.Feed{Counter: step, Seed: 5, LR: nn.AdamLR(5e-4, step), Indices: []int{int(2 * step), int(2*step + 1)}}
			if err := net.Step(set, nn.ModeTrain, augment.Sampling{}, feed); err != nil {
				t.Fatal(err)
			}
		}
		params, err := net.Params()
		if err != nil {
			t.Fatal(err)
		}
		adamM, adamV, err := net.OptimizerState()
		if err != nil {
			t.Fatal(err)
		}
		results[i] = append(append(params, adamM...), adamV...)
	}
	changed := 0
	for i, v := range results[1] {
		if math.Float32bits(v) != math.Float32bits(results[0][i]) {
			t.Fatalf("value %d after two steps: %g, the preset's %g", i, v, results[0][i])
		}
		if v != 0 {
			changed++
		}
	}
	if changed < len(results[0])/2 {
		t.Errorf("only %d of %d values nonzero: the steps did not train", changed, len(results[0]))
	}
}

// TestAgainstTensorFlowJS builds each test file with TensorFlow.js
// layers (tools/kerascheck, where npm has installed it) and holds the
// reader to its counts: layer by layer (those vkcnn folds or drops,
// InputLayer and Activation('linear' or the last 'softmax'), have none),
// trainable and not.
func TestAgainstTensorFlowJS(t *testing.T) {
	dir := nodetest.Dir(t, "kerascheck", "@tensorflow/tfjs-layers")
	for _, file := range []string{standardFile, tfjsFile, tfjsGraphFile, tfjsActFile, keras3File, keras3GraphFile, tfjsDepthwiseFile, tfjsWindowsFile} {
		out, err := exec.Command("node", filepath.Join(dir, "check.js"), file).Output()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var want struct {
			Layers []struct {
				Name, Class string
				Params      int
			}
			Trainable    int `json:"trainable"`
			NonTrainable int `json:"non_trainable"`
		}
		if err := json.Unmarshal(out, &want); err != nil {
			t.Fatalf("%s: %v in %s", file, err, out)
		}
		m := build(t, readFile(t, file), Options{})
		counts := map[string]int{}
		for _, l := range m.Layers {
			counts[l.Spec.Name] = 0
			for _, p := range l.Params {
				counts[l.Spec.Name] += p.Size()
			}
		}
		kept := 0
		for _, l := range want.Layers {
			got, ok := counts[l.Name]
			if ok {
				kept++
			}
			if got != l.Params {
				t.Errorf("%s: layer %s (%s) has %d parameters, TensorFlow.js counts %d", file, l.Name, l.Class, got, l.Params)
			}
		}
		if kept != len(m.Layers) {
			t.Errorf("%s: %d of vkcnn's %d layers are TensorFlow.js's", file, kept, len(m.Layers))
		}
		if m.CountTrainable() != want.Trainable || m.CountParams()-m.CountTrainable() != want.NonTrainable {
			t.Errorf("%s: %d trainable, %d not; TensorFlow.js counts %d, %d", file, m.CountTrainable(), m.CountParams()-m.CountTrainable(), want.Trainable, want.NonTrainable)
		}
	}
}

// TestGraphs: a graph's layers read the layers its inbound nodes name,
// the model's input by nn.InputName, through the layers vkcnn leaves out.
func TestGraphs(t *testing.T) {
	for _, c := range []struct {
		file  string
		reads map[string]string
	}{
		{tfjsGraphFile, map[string]string{"stem": nn.InputName, "residual": "stem branch_bn", "down": "residual_relu", "side": "residual_relu", "joined": "down side", "logits": "pooled"}},
		{keras3GraphFile, map[string]string{"conv2d": nn.InputName, "activation": "batch_normalization", "conv2d_1": "activation", "add": "activation batch_normalization_1", "conv2d_3": "activation_1", "concatenate": "conv2d_2 conv2d_3"}},
	} {
		spec, err := Read(readFile(t, c.file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if spec.Format != nn.GraphFormat {
			t.Errorf("%s: format %s, want %s", c.file, spec.Format, nn.GraphFormat)
		}
		for _, l := range spec.Layers {
			if want, ok := c.reads[l.Name]; ok && strings.Join(l.Inputs, " ") != want {
				t.Errorf("%s: %s reads %v, want %s", c.file, l.Name, l.Inputs, want)
			}
		}
	}
}

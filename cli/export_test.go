package cli

import (
	"bytes"
	endian "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/keras"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/onnx"
)

// onnxTolerance bounds the difference of ONNX Runtime's probabilities
// from the softmax of vkcnn's logits.
const onnxTolerance = 1e-5

// TestExportSmallMatchesONNXRuntime trains a small network with pooling a
// few hundred steps and checks its export in ONNX Runtime on the first
// 1,000 test digits.
func TestExportSmallMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-sequential-1", "name": "pooled", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 6, "kernel_size": 5, "activation": "relu"},
  {"type": "maxpool2d"},
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
  {"type": "maxpool2d"},
  {"type": "flatten"},
  {"type": "dense", "units": 32, "activation": "relu"},
  {"type": "dropout", "rate": 0.25},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

// TestExportBatchNormMatchesONNXRuntime does the same for batch
// normalization (of images and, after the flatten, of a vector whose
// features ONNX orders otherwise), average pooling and a ReLU layer.
func TestExportBatchNormMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-sequential-1", "name": "normalized", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 6, "kernel_size": 3},
  {"type": "batchnorm"},
  {"type": "relu"},
  {"type": "avgpool2d"},
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "activation": "relu"},
  {"type": "avgpool2d"},
  {"type": "flatten"},
  {"type": "batchnorm"},
  {"type": "dense", "units": 24, "activation": "relu"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

// TestExportGraphMatchesONNXRuntime does the same for a graph: a residual
// add, a concatenation of images and one of vectors in two feature orders
// (a dense layer's and a flattened image's).
func TestExportGraphMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-graph-1", "name": "joined", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "name": "stem", "filters": 6, "kernel_size": 3, "activation": "relu"},
  {"type": "maxpool2d", "name": "pooled"},
  {"type": "conv2d", "filters": 6, "kernel_size": 3},
  {"type": "batchnorm"},
  {"type": "relu"},
  {"type": "conv2d", "name": "branch", "filters": 6, "kernel_size": 3},
  {"type": "add", "name": "residual", "inputs": ["branch", "pooled"]},
  {"type": "relu", "name": "block"},
  {"type": "conv2d", "name": "side", "filters": 4, "kernel_size": 1, "inputs": ["pooled"]},
  {"type": "concatenate", "name": "joined", "inputs": ["block", "side"]},
  {"type": "maxpool2d"},
  {"type": "flatten", "name": "flat"},
  {"type": "dense", "name": "hidden", "units": 32, "activation": "relu"},
  {"type": "concatenate", "name": "vectors", "inputs": ["hidden", "flat"]},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

// TestExportStridedMatchesONNXRuntime does the same for strided and
// "valid" convolutions (TensorFlow's padding, which the export spells
// out), one without a bias, and global average pooling, in a residual
// block with a projection shortcut.
func TestExportStridedMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-graph-1", "name": "strided", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "name": "stem", "filters": 6, "kernel_size": 3, "activation": "relu"},
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "strides": 2, "use_bias": false},
  {"type": "batchnorm"},
  {"type": "relu"},
  {"type": "conv2d", "name": "second", "filters": 8, "kernel_size": 3},
  {"type": "conv2d", "name": "shortcut", "filters": 8, "kernel_size": 1, "strides": 2, "inputs": ["stem"]},
  {"type": "add", "inputs": ["second", "shortcut"]},
  {"type": "conv2d", "filters": 12, "kernel_size": 5, "strides": [2, 3], "padding": "valid", "activation": "relu"},
  {"type": "globalavgpool2d"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

// TestExportWindowsMatchesONNXRuntime does the same for the im2col path's
// and the depthwise kernels' other windows: an even kernel (TensorFlow
// pads it more below and right), a non-square one, dilated convolutions,
// grouped ones (ONNX's group), and a dilated non-square depthwise and
// separable convolution.
func TestExportWindowsMatchesONNXRuntime(t *testing.T) {
	exportTrained(t, `{"format": "vkcnn-sequential-1", "name": "windows", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 8, "kernel_size": 4, "activation": "relu"},
  {"type": "conv2d", "filters": 8, "kernel_size": 3, "dilation_rate": 2, "groups": 2, "activation": "relu"},
  {"type": "conv2d", "filters": 12, "kernel_size": [3, 1], "strides": 2, "groups": 4, "use_bias": false},
  {"type": "batchnorm"},
  {"type": "relu"},
  {"type": "depthwiseconv2d", "kernel_size": [3, 2], "dilation_rate": [2, 3], "activation": "relu"},
  {"type": "separableconv2d", "filters": 12, "kernel_size": [2, 3], "dilation_rate": 2, "padding": "valid", "activation": "relu"},
  {"type": "conv2d", "filters": 12, "kernel_size": 2, "dilation_rate": [1, 2], "groups": 3, "padding": "valid", "activation": "relu"},
  {"type": "globalavgpool2d"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`)
}

func exportTrained(t *testing.T, model string) {
	data := dataDir(t)
	runner := onnxRuntime(t)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--model", writeModel(t, model), "--epochs", "1", "--steps-per-epoch", "300", "--batch-size", "32",
		"--lr", "3e-3", "--data", data, "--out", run)
	c := compareExport(t, runner, run, firstTestDigits(t, data, 1000))
	t.Logf("1,000 digits: probabilities at most %.3g apart, logits %.3g; %d classes differ", c.probabilities, c.logits, c.classes)
	if c.probabilities > onnxTolerance || c.classes != 0 {
		t.Errorf("ONNX Runtime's probabilities are up to %.3g from vkcnn's (want at most %g), and %d of 1000 classes differ",
			c.probabilities, onnxTolerance, c.classes)
	}
}

// TestExportStandardMatchesONNXRuntime checks the export of the standard
// model's architecture, with its random initial weights, on 64 digits.
// Random weights give near-ties, so the classes are not compared.
func TestExportStandardMatchesONNXRuntime(t *testing.T) {
	spec, err := nn.Preset("standard")
	if err != nil {
		t.Fatal(err)
	}
	exportInitial(t, spec)
}

// TestExportResNet20MatchesONNXRuntime does the same for the resnet20
// preset at MNIST's shape.
func TestExportResNet20MatchesONNXRuntime(t *testing.T) {
	spec, err := nn.PresetFor("resnet20", [3]int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	exportInitial(t, spec)
}

func exportInitial(t *testing.T, spec nn.ModelSpec) {
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	exportWeights(t, spec, model.Init(7))
}

// exportWeights checks the export of the spec with the weights params,
// and returns what it measured.
func exportWeights(t *testing.T, spec nn.ModelSpec, params []float32) comparison {
	data := dataDir(t)
	runner := onnxRuntime(t)
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	js, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.WriteFile(filepath.Join(run, "model.json"), js, 0o644),
		model.SaveWeights(filepath.Join(run, "weights.safetensors"), params)); err != nil {
		t.Fatal(err)
	}
	c := compareExport(t, runner, run, firstTestDigits(t, data, 64))
	t.Logf("64 digits: probabilities at most %.3g apart, logits %.3g; vkcnn eval %v, export %v, ONNX Runtime %v",
		c.probabilities, c.logits, c.eval.Round(time.Millisecond), c.export.Round(time.Millisecond), c.runtime.Round(time.Millisecond))
	if c.probabilities > onnxTolerance {
		t.Errorf("ONNX Runtime's probabilities are up to %.3g from vkcnn's (want at most %g)", c.probabilities, onnxTolerance)
	}
	return c
}

// comparison is what compareExport measured.
type comparison struct {
	probabilities, logits float64 // the largest differences
	classes               int     // samples whose most likely class differs
	eval, export, runtime time.Duration
}

// compareExport runs the test set of the data folder through `vkcnn eval
// --logits` and through the run's ONNX export in ONNX Runtime.
func compareExport(t *testing.T, runner, run, data string) comparison {
	t.Helper()
	var c comparison
	d, err := dataset.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	g, n, classes := d.Geometry, d.Test.N, d.Classes
	dir := t.TempDir()
	logitsFile, model := filepath.Join(dir, "logits.npy"), filepath.Join(dir, "model.onnx")
	start := time.Now()
	mustRun(t, "eval", "--run", run, "--data", data, "--logits", logitsFile, "--batch-size", strconv.Itoa(min(n, 100)))
	c.eval = time.Since(start)
	start = time.Now()
	out := mustRun(t, "export", "--run", run, "--onnx", model)
	c.export = time.Since(start)
	if want := fmt.Sprintf(`input "input" float32 [N, %d, %d, %d] in [0, 1], outputs "probabilities" and "logits" [N, %d]`,
		g.Channels, g.Height, g.Width, classes); !strings.Contains(out, want) {
		t.Errorf("export says %q, want %q", out, want)
	}
	want := readNpy(t, logitsFile)
	start = time.Now()
	got := runONNX(t, runner, model, nchw(d.Test.Images, g), []int{n, g.Channels, g.Height, g.Width}, classes)
	c.runtime = time.Since(start)
	if len(want) != n*classes || len(got[onnx.Probabilities]) != n*classes || len(got[onnx.Logits]) != n*classes {
		t.Fatalf("%d logits from eval, %d probabilities and %d logits from ONNX Runtime; want %d each",
			len(want), len(got[onnx.Probabilities]), len(got[onnx.Logits]), n*classes)
	}
	for i := range n {
		z := want[i*classes : (i+1)*classes]
		p := got[onnx.Probabilities][i*classes : (i+1)*classes]
		for j, q := range softmax(z) {
			c.probabilities = max(c.probabilities, math.Abs(q-float64(p[j])))
			c.logits = max(c.logits, math.Abs(float64(z[j]-got[onnx.Logits][i*classes+j])))
		}
		if argmax(z) != argmax(p) {
			c.classes++
		}
	}
	return c
}

// nchw turns HWC images of g into the export's input: float32 NCHW,
// byte / 255.
func nchw(images []byte, g augment.Geometry) []float32 {
	out := make([]float32, len(images))
	plane := g.Width * g.Height
	for i, b := range images {
		img, p, ch := i/g.Values(), i%g.Values()/g.Channels, i%g.Channels
		out[img*g.Values()+ch*plane+p] = float32(b) / 255
	}
	return out
}

func softmax(z []float32) []float64 {
	top := slices.Max(z)
	out := make([]float64, len(z))
	var sum float64
	for j, v := range z {
		out[j] = math.Exp(float64(v - top))
		sum += out[j]
	}
	for j := range out {
		out[j] /= sum
	}
	return out
}

func argmax(z []float32) int {
	return slices.Index(z, slices.Max(z))
}

// firstTestDigits writes a data folder with MNIST's training set and its
// first n test digits.
func firstTestDigits(t *testing.T, data string, n int) string {
	t.Helper()
	d, err := dataset.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} {
		if err := os.Symlink(filepath.Join(data, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	datatest.Write(t, dir, map[string][]byte{
		"t10k-images-idx3-ubyte": datatest.IDXImages(d.Geometry, n, d.Test.Images[:n*d.Geometry.Values()]),
		"t10k-labels-idx1-ubyte": datatest.IDXLabels(d.Test.Labels[:n]),
	})
	return dir
}

func readNpy(t *testing.T, path string) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var v []float32
	if err := npy.Read(f, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// onnxRuntime is the script that runs a model in ONNX Runtime, which
// ./build.sh installs with Node.js.
func onnxRuntime(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on PATH: ./build.sh deps installs Node.js, and ONNX Runtime with it")
	}
	dir, err := filepath.Abs(filepath.Join("..", "tools", "onnxcheck"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
		t.Fatalf("ONNX Runtime is not installed in %s: run ./build.sh deps (npm ci --ignore-scripts there)", dir)
	}
	return filepath.Join(dir, "run.js")
}

// runONNX runs model on input of dimensions dims in ONNX Runtime and
// returns its outputs by name, checking the names and dimensions of the
// model's input and outputs (of classes).
func runONNX(t *testing.T, runner, model string, input []float32, dims []int, classes int) map[string][]float32 {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "input.f32")
	raw := make([]byte, 0, 4*len(input))
	for _, v := range input {
		raw = endian.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var dimList []string
	for _, d := range dims {
		dimList = append(dimList, strconv.Itoa(d))
	}
	cmd := exec.Command("node", runner, model, in, strings.Join(dimList, ","), dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ONNX Runtime: %v: %s", err, stderr.String())
	}
	var report struct {
		Inputs  []string `json:"inputs"`
		Outputs []struct {
			Name string `json:"name"`
			Dims []int  `json:"dims"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("ONNX Runtime's report %q: %v", stdout.String(), err)
	}
	if !slices.Equal(report.Inputs, []string{onnx.Input}) {
		t.Errorf("inputs %q, want %q", report.Inputs, onnx.Input)
	}
	var names []string
	for _, o := range report.Outputs {
		names = append(names, o.Name)
	}
	if want := []string{onnx.Probabilities, onnx.Logits}; !slices.Equal(names, want) {
		t.Errorf("outputs %q, want %q", names, want)
	}
	out := map[string][]float32{}
	for _, o := range report.Outputs {
		if want := []int{dims[0], classes}; !slices.Equal(o.Dims, want) {
			t.Errorf("output %q has dimensions %v, want %v", o.Name, o.Dims, want)
		}
		raw, err := os.ReadFile(filepath.Join(dir, o.Name+".f32"))
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, len(raw)/4)
		for j := range v {
			v[j] = math.Float32frombits(endian.LittleEndian.Uint32(raw[4*j:]))
		}
		out[o.Name] = v
	}
	return out
}

// TestExportKerasMatchesONNXRuntime exports Keras files' models from
// their initial weights: batch normalization with the file's epsilon
// (1e-5, not Keras' default; the moving variances set to 1e-4, where
// epsilon counts), a frozen layer, Keras' initializers, and a graph with a
// last Activation('softmax') fused into its dense layer; and the
// activations a Keras file names, in each layer that takes them.
func TestExportKerasMatchesONNXRuntime(t *testing.T) {
	for _, file := range []string{"tfjs_sequential.json", "tfjs_functional.json", "tfjs_activations.json"} {
		t.Run(file, func(t *testing.T) {
			spec, err := keras.Load(filepath.Join("..", "keras", "testdata", file), keras.Options{})
			if err != nil {
				t.Fatal(err)
			}
			model, err := nn.Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			params := model.Init(7)
			for _, p := range model.Params {
				if strings.HasSuffix(p.Name, ".moving_variance") {
					for i := range p.Size() {
						params[p.Offset+i] = 1e-4
					}
				}
			}
			exportWeights(t, spec, params)
		})
	}
}

package cli

import (
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/vkcnn/vkcnn/internal/nodetest"
)

// TestTorchModelMatchesLogits loads a short run's weights into
// bench/torch_model.py's PyTorch network and holds its test-set logits to
// `vkcnn eval --logits`'s (the script's --tolerance):
// bench/windows-model.json, a graph of every window the convolutions take (even, non-square, strided, dilated,
// grouped, depthwise and separable, TensorFlow's "same" padding spelt out)
// and every pooling option. Skipped where no python3 imports torch.
func TestTorchModelMatchesLogits(t *testing.T) {
	py := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 here imports torch")
	}
	data := dataDir(t)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--model", filepath.Join("..", "bench", "windows-model.json"),
		"--epochs", "1", "--steps-per-epoch", "60", "--batch-size", "32", "--lr", "3e-3", "--data", data, "--out", run)
	logits := filepath.Join(t.TempDir(), "logits.npy")
	mustRun(t, "eval", "--run", run, "--data", data, "--logits", logits)
	out, err := exec.Command(py, "../bench/torch_model.py", filepath.Join(run, "model.json"), "--weights", filepath.Join(run, "weights.safetensors"),
		"--logits", logits, "--data", data, "--tolerance", "1e-4").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("bench/torch_model.py: %v", err)
	}
}

// TestTensorFlowJSMatchesWindows trains keras/testdata/tfjs_windows.json
// (even, non-square and dilated Conv2D, DepthwiseConv2D and
// SeparableConv2D, TensorFlow.js's own file) briefly, then runs the same
// file with the run's weights in TensorFlow.js itself
// (tools/kerascheck/predict.js) on 500 test digits: its probabilities
// within onnxTolerance of the softmax of vkcnn's logits, the same classes.
// This holds vkcnn's window placement to TensorFlow's own, where the ONNX
// and PyTorch checks spell out the padding vkcnn computes. Skipped where
// TensorFlow.js layers is not installed.
func TestTensorFlowJSMatchesWindows(t *testing.T) {
	dir := nodetest.Dir(t, "kerascheck", "@tensorflow/tfjs-layers")
	const n, classes = 500, 10
	model, err := filepath.Abs(filepath.Join("..", "keras", "testdata", "tfjs_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	data := firstTestDigits(t, dataDir(t), n)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--model", model, "--epochs", "1", "--steps-per-epoch", "100", "--batch-size", "32", "--lr", "3e-3", "--data", data, "--out", run)
	logitsFile := filepath.Join(t.TempDir(), "logits.npy")
	mustRun(t, "eval", "--run", run, "--data", data, "--logits", logitsFile)
	images, err := filepath.Glob(filepath.Join(data, "t10k-images-idx3-ubyte*"))
	if err != nil || len(images) != 1 {
		t.Fatalf("test images %v: %v", images, err)
	}
	out, err := exec.Command("node", filepath.Join(dir, "predict.js"), model, filepath.Join(run, "weights.safetensors"), images[0], strconv.Itoa(n)).Output()
	if err != nil {
		t.Fatalf("predict.js: %v", err)
	}
	var probabilities [][]float64
	if err := json.Unmarshal(out, &probabilities); err != nil || len(probabilities) != n {
		t.Fatalf("predict.js wrote %d rows (%v), want %d", len(probabilities), err, n)
	}
	logits := readNpy(t, logitsFile)
	var worst float64
	differ := 0
	for i, p := range probabilities {
		z := logits[i*classes : (i+1)*classes]
		q := softmax(z)
		for j := range q {
			worst = max(worst, math.Abs(q[j]-p[j]))
		}
		if argmax(z) != slices.Index(p, slices.Max(p)) {
			differ++
		}
	}
	t.Logf("%d digits: TensorFlow.js's probabilities at most %.3g from vkcnn's; %d classes differ", n, worst, differ)
	if worst > onnxTolerance || differ != 0 {
		t.Errorf("TensorFlow.js's probabilities are up to %.3g from vkcnn's (want at most %g), and %d of %d classes differ", worst, onnxTolerance, differ, n)
	}
}

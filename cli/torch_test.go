package cli

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTorchModelMatchesLogits loads a short run's weights into
// bench/torch_model.py's PyTorch network and holds its test-set logits to
// `vkcnn eval --logits`'s (the script's --tolerance): a graph of every
// window the convolutions take (even, non-square, strided, dilated,
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
	mustRun(t, "train", "--model", writeModel(t, `{"format": "vkcnn-graph-1", "name": "windows", "input_shape": [28, 28, 1], "layers": [
  {"type": "zeropadding2d", "name": "pad", "padding": [[1, 0], [0, 2]]},
  {"type": "conv2d", "name": "stem", "filters": 4, "kernel_size": 4, "activation": "relu"},
  {"type": "conv2d", "name": "dilated", "filters": 4, "kernel_size": 3, "dilation_rate": 2, "groups": 2, "activation": "relu"},
  {"type": "conv2d", "name": "down", "filters": 6, "kernel_size": [3, 1], "strides": 2, "groups": 2, "use_bias": false},
  {"type": "batchnorm", "name": "bn"},
  {"type": "relu", "name": "r"},
  {"type": "depthwiseconv2d", "name": "dw", "kernel_size": [3, 2], "dilation_rate": [2, 3], "depth_multiplier": 2, "activation": "relu"},
  {"type": "separableconv2d", "name": "sep", "filters": 6, "kernel_size": [2, 3], "dilation_rate": 2, "padding": "valid", "activation": "relu"},
  {"type": "maxpool2d", "name": "max", "pool_size": 3, "strides": 2, "padding": "same"},
  {"type": "avgpool2d", "name": "avg", "pool_size": [2, 3], "strides": 1, "padding": "same"},
  {"type": "globalavgpool2d", "name": "gap"},
  {"type": "depthwiseconv2d", "name": "dws", "kernel_size": 3, "strides": 2, "activation": "relu6", "inputs": ["r"]},
  {"type": "avgpool2d", "name": "valid", "pool_size": 3, "strides": [2, 1]},
  {"type": "globalmaxpool2d", "name": "gmp"},
  {"type": "concatenate", "name": "cat", "inputs": ["gap", "gmp"]},
  {"type": "dense", "name": "logits", "units": 10, "activation": "softmax"}]}`),
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

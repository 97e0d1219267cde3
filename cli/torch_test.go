package cli

import (
	"os/exec"
	"path/filepath"
	"testing"
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

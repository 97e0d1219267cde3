package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wideModel's activations at batch 200 take 160 MB in one binding, past
// lavapipe's storage-buffer range of 128 MiB: its convolution runs in
// batch slices, and the dense layer's kernel gradient in slices of k.
const wideModel = `{"format": "vkcnn-sequential-1", "name": "wide", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 256, "kernel_size": 3, "activation": "relu"},
  {"type": "flatten"},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`

// TestBatchPastStorageRangeTrains trains the wide model at batch 200, then
// evaluates the run at batch 200 and in halves of 100: the logits are the
// same bit for bit, as each sample's are whatever slice it falls in.
func TestBatchPastStorageRangeTrains(t *testing.T) {
	data := smallDigits(t, 400, 200)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--model", writeModel(t, wideModel), "--batch-size", "200", "--epochs", "1", "--data", data, "--out", run)
	var logits [2][]byte
	for i, batch := range []string{"200", "100"} {
		path := filepath.Join(t.TempDir(), "logits.npy")
		mustRun(t, "eval", "--run", run, "--batch-size", batch, "--data", data, "--logits", path)
		logits[i] = readFile(t, path)
	}
	if !bytes.Equal(logits[0], logits[1]) {
		t.Error("the logits at batch 200 differ from those at batch 100")
	}
}

// TestBatchPastMemoryIsRefusedBeforeWork asks for the standard model at
// batch 100,000: one line before any work, and no run folder.
func TestBatchPastMemoryIsRefusedBeforeWork(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	_, stderr, status := runVkcnn(t, nil, "train", "--model", "standard", "--batch-size", "100000", "--data", smallDigits(t, 16, 16), "--out", run)
	if status != 3 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "standard at batch size 100000 needs about") ||
		!strings.Contains(stderr, "the largest batch size that fits is") {
		t.Errorf("status %d, stderr: %s", status, stderr)
	}
	if _, err := os.Stat(run); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run folder is left: %v", err)
	}
}

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

// TestResumeRunsTheRecordedKernels trains a run, then changes the tuning
// cache under it: resuming must run the kernels the run folder recorded,
// not the cache's new choice, or it would not be bit-identical.
func TestResumeRunsTheRecordedKernels(t *testing.T) {
	data := dataDir(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "tuning.json")
	run := filepath.Join(dir, "run")
	env := []string{"VKCNN_TUNING=" + cache}
	train := func(args ...string) string {
		t.Helper()
		_, stderr, status := runVkcnn(t, env, append([]string{"train", "--data", data}, args...)...)
		if status != 0 {
			t.Fatalf("train %v: status %d: %s", args, status, stderr)
		}
		return stderr
	}
	recorded := func() map[string]string {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(run, runfolder.KernelsFile))
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Choices map[string]string }
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		return r.Choices
	}
	train("--model", writeTinyModel(t), "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--val-split", "0.01", "--out", run)
	before := recorded()
	const key = "gemm 8x16x784 tAfalse tBfalse" // dense_1 forward
	if before[key] == "" {
		t.Fatalf("no choice recorded for %s: %v", key, before)
	}
	// A cache that now picks another kernel for that product.
	other := "warp64 split 2"
	if before[key] == other {
		other = "warp128"
	}
	var devices []struct {
		Name       string `json:"name"`
		DriverInfo string `json:"driver_info"`
		Default    bool   `json:"default"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "--json")), &devices); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VKCNN_TUNING", cache)
	for _, d := range devices {
		if d.Default {
			if _, err := kernels.SaveTuning(vk.DeviceInfo{Name: d.Name, DriverInfo: d.DriverInfo}, kernels.FP32, map[string]string{key: other}); err != nil {
				t.Fatal(err)
			}
		}
	}
	stderr := train("--resume", run, "--epochs", "2")
	if !strings.Contains(stderr, "kernels as recorded in") {
		t.Errorf("resuming did not say it runs the recorded kernels: %s", stderr)
	}
	if after := recorded(); after[key] != before[key] {
		t.Errorf("resuming recorded %q for %s, want the run's %q", after[key], key, before[key])
	}
	// A new run takes the cache's choice.
	run = filepath.Join(dir, "fresh")
	train("--model", writeTinyModel(t), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "8", "--val-split", "0.01", "--out", run)
	if got := recorded()[key]; got != other {
		t.Errorf("a new run recorded %q for %s, want the tuned %q", got, key, other)
	}
}

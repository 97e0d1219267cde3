package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
)

// TestPrecisionRuns trains the tiny model at bf16 (emulated on lavapipe):
// run.json and kernels.json record the precision, the products whose
// lengths are not multiples of 4 run fp32 and bench all says so, --resume
// keeps the precision and refuses another, eval takes one, and a bad one
// is one line and status 1.
func TestPrecisionRuns(t *testing.T) {
	data := dataDir(t)
	model := writeTinyModel(t)
	run := filepath.Join(t.TempDir(), "run")
	mustRun(t, "train", "--model", model, "--epochs", "1", "--steps-per-epoch", "4", "--batch-size", "16", "--precision", "bf16",
		"--data", data, "--out", run)
	rec, err := runfolder.ReadRecord(run)
	if err != nil || rec.Config.Precision != kernels.BF16 {
		t.Fatalf("run.json: %+v, %v", rec.Config, err)
	}
	checkKernels := func() {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(run, runfolder.KernelsFile))
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Precision string            `json:"precision"`
			Choices   map[string]string `json:"choices"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		// The first convolution has one input channel, the last layer ten
		// classes: fp32; the hidden dense layer's forward product, bf16.
		conv1, ok := k.Choices["conv forward b16 28x28 1>4 k3x3"]
		if k.Precision != "bf16" || !ok || strings.Contains(conv1, "bf16") ||
			!strings.HasPrefix(k.Choices["gemm 16x16x784 tAfalse tBfalse"], "coopmat") {
			t.Errorf("kernels.json: %s", raw)
		}
	}
	checkKernels()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--resume", run, "--precision", "fp32"}, "drop --precision"},
		{[]string{"eval", "--run", run, "--precision", "tf32", "--data", data}, `unknown precision "tf32" (fp32, bf16, bf16x3)`},
		{[]string{"bench", "gemm", "--m", "8", "--n", "8", "--k", "8", "--variant", "warp128", "--precision", "bf16x3"}, "computes in fp32"},
	} {
		_, stderr, status := runVkcnn(t, nil, tc.args...)
		if status != 1 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("vkcnn %s: status %d, %q; want 1 and one line saying %q", strings.Join(tc.args, " "), status, stderr, tc.want)
		}
	}
	mustRun(t, "train", "--resume", run, "--epochs", "2", "--data", data)
	checkKernels()
	if out := mustRun(t, "eval", "--run", run, "--precision", "bf16x3", "--data", data); !strings.Contains(out, "Test accuracy") {
		t.Errorf("eval at bf16x3:\n%s", out)
	}
	out := mustRun(t, "bench", "all", "--model", model, "--batch-size", "4", "--reps", "1", "--precision", "bf16x3")
	if !strings.Contains(out, "in fp32, as no matrix variant runs them: conv2d_1 forward (") || !strings.Contains(out, "coopmat64 bf16x3") {
		t.Errorf("bench all at bf16x3:\n%s", out)
	}
}

// TestReproducePrecisions runs the plain experiment at fp32, then at bf16
// in the same folder: the bf16 run is a folder and a report row of its
// own, and reproduce.json records both precisions.
func TestReproducePrecisions(t *testing.T) {
	data := dataDir(t)
	model := writeTinyModel(t)
	out := filepath.Join(t.TempDir(), "repro")
	args := []string{"reproduce", "--model", model, "--epochs", "1", "--seeds", "1", "--experiments", "plain", "--steps", "2",
		"--batch-size", "8", "--out", out, "--data", data}
	mustRun(t, args...)
	mustRun(t, append(args, "--precision", "bf16")...)
	for dir, want := range map[string]kernels.Precision{"plain-seed1": kernels.FP32, "plain-bf16-seed1": kernels.BF16} {
		if rec, err := runfolder.ReadRecord(filepath.Join(out, dir)); err != nil || rec.Config.Precision != want {
			t.Errorf("%s: %+v, %v; want %s", dir, rec.Config, err, want)
		}
	}
	settings, err := readSettings(out)
	if err != nil || settings.Precisions != "fp32,bf16" {
		t.Errorf("reproduce.json: %+v, %v", settings, err)
	}
	md, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "\n| plain | ") || !strings.Contains(string(md), "\n| plain, bf16 | ") {
		t.Errorf("REPORT.md has no row for each precision:\n%s", md)
	}
}

// Scripts take the precisions' names from bench precision --list.
func TestPrecisionList(t *testing.T) {
	out := mustRun(t, "bench", "precision", "--list")
	if want := strings.Join(kernels.PrecisionNames(), "\n") + "\n"; out != want || !strings.HasPrefix(out, kernels.FP32.String()+"\n") {
		t.Fatalf("bench precision --list printed %q, want %q, fp32 first", out, want)
	}
	// --runs lists what vkcnn devices' precisions line says of the
	// default device, which scripts read it for.
	devices := "\n" + mustRun(t, "devices")
	_, chosen, _ := strings.Cut(devices, "\n* ")
	_, line, _ := strings.Cut(chosen, "     precisions: ")
	line, _, _ = strings.Cut(line, "\n")
	line, _, _ = strings.Cut(line, " (not ")
	want := strings.ReplaceAll(line, ", ", "\n") + "\n"
	if out := mustRun(t, "bench", "precision", "--list", "--runs"); line == "" || out != want {
		t.Fatalf("bench precision --list --runs printed %q, where vkcnn devices says the default device runs %q", out, line)
	}
}

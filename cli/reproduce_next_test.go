package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
)

// --next's order is shift, plain, paper of each seed, and it looks for a
// precision's runs in that precision's folders.
func TestNextRunOrder(t *testing.T) {
	records := t.TempDir()
	finish := func(name string) {
		dir := filepath.Join(records, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteHistory(filepath.Join(dir, runfolder.HistoryFile), []report.Epoch{{Epoch: 1, ValAcc: 0.99, Seconds: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	next := func(prec kernels.Precision) string {
		t.Helper()
		p := &nextPlan{reproduction: &reproduction{out: records, epochs: 1, seeds: 2, experiments: experiments, precision: prec}, records: records}
		run, ok, err := p.missing()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "none"
		}
		return run.String()
	}
	steps := []struct {
		filed      string
		fp32, bf16 string
	}{
		{"", "shift seed 1", "shift seed 1"},
		{"shift-seed1", "plain seed 1", "shift seed 1"},
		{"shift-bf16-seed1", "plain seed 1", "plain seed 1"},
		{"plain-seed1", "paper seed 1", "plain seed 1"},
		{"paper-seed1", "shift seed 2", "plain seed 1"},
		{"shift-seed2", "plain seed 2", "plain seed 1"},
		{"plain-seed2", "paper seed 2", "plain seed 1"},
		{"paper-seed2", "none", "plain seed 1"},
	}
	for _, s := range steps {
		if s.filed != "" {
			finish(s.filed)
		}
		if got := next(kernels.FP32); got != s.fp32 {
			t.Errorf("after %s: next at fp32 is %s, want %s", s.filed, got, s.fp32)
		}
		if got := next(kernels.BF16); got != s.bf16 {
			t.Errorf("after %s: next at bf16 is %s, want %s", s.filed, got, s.bf16)
		}
	}
}

// --next times a probe where the records hold no epoch of the device,
// trains shift seed 1, files its small files with the report, and starts
// no run that would not fit in the budget.
func TestReproduceNext(t *testing.T) {
	data := dataDir(t)
	model := writeTinyModel(t)
	tmp := t.TempDir()
	records, work := filepath.Join(tmp, "records"), filepath.Join(tmp, "work")
	env := []string{"VKCNN_TUNING=" + filepath.Join(tmp, "tuning.json")}
	args := []string{"reproduce", "--next", "--budget", "300", "--model", model, "--epochs", "1", "--steps", "4", "--batch-size", "16",
		"--out", work, "--records", records, "--data", data}
	out, stderr, status := runVkcnn(t, env, args...)
	if status != 0 {
		t.Fatalf("reproduce --next: status %d: %s\n%s", status, stderr, out)
	}
	for _, want := range []string{"tuning the kernels first", "timing 2 steps", "the next run, shift seed 1, needs about", "filed shift seed 1 in "} {
		if !strings.Contains(out, want) {
			t.Errorf("reproduce --next says no %q:\n%s", want, out)
		}
	}
	var filed []string
	filepath.WalkDir(records, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(records, path)
			filed = append(filed, rel)
		}
		return err
	})
	want := []string{"REPORT.md", "reproduce.json", "reproduce.png", "shift-seed1/history.csv", "shift-seed1/kernels.json", "shift-seed1/run.json", "shift-seed1/steps.csv"}
	if !reflect.DeepEqual(filed, want) {
		t.Fatalf("filed %v, want %v", filed, want)
	}
	if _, err := os.Stat(filepath.Join(work, ".probe")); !os.IsNotExist(err) {
		t.Errorf("the probe's folder is left: %v", err)
	}
	md, err := os.ReadFile(filepath.Join(records, runfolder.ReportFile))
	if err != nil || !regexp.MustCompile(`(?m)^\| shift \| .* \| 1 of 3 \| `).Match(md) {
		t.Fatalf("the report has no row of shift's 1 seed of 3 (%v):\n%s", err, md)
	}

	// An epoch recorded on this device far over the budget: plain seed 1
	// does not start, and the tuning is not made again.
	slow := filepath.Join(records, "paper-seed3")
	if err := runfolder.CopySmallFiles(filepath.Join(records, "shift-seed1"), slow); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHistory(filepath.Join(slow, runfolder.HistoryFile), []report.Epoch{{Epoch: 1, ValAcc: 0.5, Seconds: 100000}}); err != nil {
		t.Fatal(err)
	}
	out, stderr, status = runVkcnn(t, env, args...)
	if status != 0 || !strings.Contains(out, "the next run, plain seed 1, needs about 100030s (1 x 100000s an epoch): more than the") ||
		strings.Contains(out, "tuning") {
		t.Fatalf("reproduce --next with a recorded epoch of 100000 s: status %d: %s\n%s", status, stderr, out)
	}
	if _, err := os.Stat(filepath.Join(work, "plain-seed1")); !os.IsNotExist(err) {
		t.Fatalf("plain seed 1 started: %v", err)
	}
}

func TestReproduceNextBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--next"}, "--next needs --budget SECONDS"},
		{[]string{"--next", "--budget", "60", "--run", "shift:1"}, "--next chooses the run itself"},
		{[]string{"--budget", "60"}, "--budget and --records go with --next"},
	} {
		_, stderr, status := runVkcnn(t, nil, append([]string{"reproduce", "--out", t.TempDir()}, tc.args...)...)
		if status != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("reproduce %s: status %d, %q; want 1 and %q", strings.Join(tc.args, " "), status, stderr, tc.want)
		}
	}
}

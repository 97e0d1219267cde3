package cli

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/internal/pngtest"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
)

// TestReproduce runs two experiments of two seeds for a handful of steps,
// checks the run folders, the report and the figure, runs it again (it
// must train nothing), then once more with a second epoch: every run
// resumes from its checkpoint and its steps.csv goes on without a row
// twice or missing, even where the log had run ahead of the checkpoint.
func TestReproduce(t *testing.T) {
	data := dataDir(t)
	model := writeTinyModel(t)
	out := filepath.Join(t.TempDir(), "repro")
	args := []string{"reproduce", "--model", model, "--epochs", "1", "--seeds", "2", "--experiments", "plain,shift",
		"--steps", "4", "--batch-size", "16", "--out", out, "--data", data}
	first := mustRun(t, args...)
	if n := strings.Count(first, "\nEpoch 1/1 "); n != 4 {
		t.Fatalf("want 4 runs trained, got %d:\n%s", n, first)
	}
	var errs [2][]float64
	for i, exp := range []string{"plain", "shift"} {
		for seed := 1; seed <= 2; seed++ {
			dir := filepath.Join(out, fmt.Sprintf("%s-seed%d", exp, seed))
			for _, f := range []string{"model.json", "run.json", "weights.safetensors", "history.csv", "steps.csv", "training.png", "checkpoint.safetensors"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Fatalf("%s lacks %s", dir, f)
				}
			}
			rec, err := runfolder.ReadRecord(dir)
			if err != nil {
				t.Fatal(err)
			}
			wantShift := map[string]float64{"plain": 0, "shift": 0.1}[exp]
			if rec.Config.Seed != uint64(seed) || rec.Config.StepsPerEpoch != 4 || rec.Config.BatchSize != 16 ||
				rec.Config.Augment.ShiftFrac != wantShift || rec.Config.Augment.Interp.String() != "nearest" || rec.Device == "" {
				t.Errorf("%s: run.json %+v", dir, rec)
			}
			h, err := report.ReadHistory(filepath.Join(dir, "history.csv"))
			if err != nil || len(h) != 1 {
				t.Fatalf("%s: history %v, %v", dir, h, err)
			}
			errs[i] = append(errs[i], 100*(1-h[0].ValAcc))
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for i, exp := range []string{"plain", "shift"} {
		// The table's mean and best seed, from the histories.
		mean := (errs[i][0] + errs[i][1]) / 2
		best := 1
		if errs[i][1] < errs[i][0] {
			best = 2
		}
		row := regexp.MustCompile(`(?m)^\| ` + exp + ` \| .* \| 2 of 2 \| ` + regexp.QuoteMeta(fmt.Sprintf("%.2f%% ± ", mean)) +
			`\d+\.\d\d% \| ` + regexp.QuoteMeta(fmt.Sprintf("%.2f%% (seed %d)", errs[i][best-1], best)) + ` \| .* \| ` +
			regexp.QuoteMeta(map[string]string{"plain": "0.83%", "shift": "0.54%"}[exp]) + ` \[\d\] \| \d+\.\d \| \d+ \|$`)
		if !row.Match(md) {
			t.Errorf("REPORT.md has no row for %s with mean %.2f%% and best seed %d:\n%s", exp, mean, best, md)
		}
	}
	if !strings.Contains(string(md), "Device: ") || !strings.Contains(string(md), "![test error against epoch](reproduce.png)") ||
		strings.Contains(string(md), "| paper |") {
		t.Errorf("REPORT.md:\n%s", md)
	}
	pngtest.Decode(t, filepath.Join(out, "reproduce.png"), report.ReproduceWidth, report.ReproduceHeight)
	pngtest.Decode(t, filepath.Join(out, "plain-seed1", "training.png"), report.TrainingWidth, report.TrainingHeight)

	weights := filepath.Join(out, "plain-seed1", "weights.safetensors")
	before, err := os.Stat(weights)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	again := mustRun(t, args...)
	if strings.Contains(again, "Epoch ") || strings.Count(again, ": done, test error ") != 4 {
		t.Fatalf("a second invocation trained:\n%s", again)
	}
	if after, _ := os.Stat(weights); !after.ModTime().Equal(before.ModTime()) {
		t.Error("a finished run's weights were rewritten")
	}
	t.Logf("second invocation: %v", time.Since(start))

	// A row past the checkpoint, as a crash between a log row and the next
	// checkpoint leaves it, must not survive the resumption.
	steps := filepath.Join(out, "shift-seed2", "steps.csv")
	f, err := os.OpenFile(steps, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "5,1.25,80,9,0.5,0.001,100")
	f.Close()
	args[4] = "2" // --epochs
	third := mustRun(t, args...)
	if n := strings.Count(third, "resuming after epoch 1 of 2"); n != 4 {
		t.Fatalf("want 4 runs resumed:\n%s", third)
	}
	for _, exp := range []string{"plain-seed1", "shift-seed2"} {
		rows, err := report.ReadSteps(filepath.Join(out, exp, "steps.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprint(r.Step, "@", r.Epoch))
		}
		// 4 steps an epoch log every step.
		if want := "1@0.25 2@0.5 3@0.75 4@1 5@1.25 6@1.5 7@1.75 8@2"; strings.Join(got, " ") != want || rows[4].Loss == 9 {
			t.Errorf("%s: steps.csv rows %s (row 5 loss %g), want %s", exp, strings.Join(got, " "), rows[4].Loss, want)
		}
	}

	_, stderr, status := runVkcnn(t, nil, "reproduce", "--model", model, "--batch-size", "32", "--out", out, "--data", data)
	if status != 1 || !strings.Contains(stderr, "holds runs made with --model "+model+" --batch-size 16 --steps-per-epoch 4") {
		t.Errorf("other settings in the same folder: status %d, %s", status, stderr)
	}
}

// TestReproduceRunDevicesAndReportOnly trains one chosen run alone (no
// report), then the missing runs with two workers sharing the device (the
// report once, at the end), then rebuilds the report from the folder
// alone, byte for byte.
func TestReproduceRunDevicesAndReportOnly(t *testing.T) {
	data := dataDir(t)
	model := writeTinyModel(t)
	out := filepath.Join(t.TempDir(), "repro")
	common := []string{"--epochs", "1", "--seeds", "2", "--experiments", "plain,shift", "--out", out}
	training := append([]string{"--model", model, "--steps", "3", "--batch-size", "16", "--data", data}, common...)
	alone := mustRun(t, append([]string{"reproduce", "--run", "shift:2"}, training...)...)
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "reproduce.json shift-seed2" || strings.Count(alone, "\nEpoch 1/1 ") != 1 {
		t.Fatalf("--run shift:2 left %q and trained:\n%s", names, alone)
	}

	both := mustRun(t, append([]string{"reproduce", "--devices", "0,0"}, training...)...)
	first := strings.Index(both, "[1/4] plain seed 1: training on device 0")
	second := strings.Index(both, "[2/4] shift seed 1: training on device 0")
	epoch := regexp.MustCompile(`(?m)^\[(plain|shift) seed \d\] Epoch 1/1 `).FindStringIndex(both)
	if first < 0 || second < 0 || epoch == nil || second > epoch[0] || !strings.Contains(both, "[4/4] shift seed 2: done") ||
		len(regexp.MustCompile(`(?m)^\[(plain|shift) seed \d\] Epoch 1/1 `).FindAllString(both, -1)) != 3 {
		t.Fatalf("--devices 0,0: want plain seed 1 and shift seed 1 started before either trained an epoch, 3 runs trained and shift seed 2 done:\n%s", both)
	}
	md, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil || strings.Count(string(md), " | 2 of 2 | ") != 2 {
		t.Fatalf("REPORT.md (%v): want 2 of 2 seeds of both experiments:\n%s", err, md)
	}

	if err := os.Remove(filepath.Join(out, "REPORT.md")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append([]string{"reproduce", "--report-only"}, common...)...)
	again, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil || string(again) != string(md) {
		t.Errorf("--report-only (%v) wrote:\n%s\nwant:\n%s", err, again, md)
	}
	pngtest.Decode(t, filepath.Join(out, "reproduce.png"), report.ReproduceWidth, report.ReproduceHeight)
}

func TestReproduceBadInput(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"reproduce", "--experiments", "plain,rotate"}, `unknown experiment "rotate"`},
		{[]string{"reproduce", "--experiments", "plain,plain"}, "plain given twice"},
		{[]string{"reproduce", "--run", "shift:0"}, `"shift:0" is not EXPERIMENT:SEED`},
		{[]string{"reproduce", "--run", "shift"}, `"shift" is not EXPERIMENT:SEED`},
		{[]string{"reproduce", "--run", "rotate:1"}, `unknown experiment "rotate"`},
		{[]string{"reproduce", "--run", "shift:1,shift:1"}, "shift:1 given twice"},
		{[]string{"reproduce", "--devices", "0,,1"}, "an empty device"},
		{[]string{"reproduce", "--devices", "0", "--device", "0"}, "--devices and --device"},
		{[]string{"reproduce", "--report-only", "--model", "small"}, "--report-only takes --epochs, --seeds, --experiments, --out, not --model"},
		{[]string{"reproduce", "--report-only", "--out", empty}, "holds no reproduction"},
		{[]string{"reproduce", "--seeds", "0"}, "--seeds 0"},
		{[]string{"reproduce", "--epochs", "0"}, "--epochs 0"},
		{[]string{"reproduce", "--model", "lenet"}, "unknown model"},
		{[]string{"reproduce", "extra"}, `unexpected argument "extra"`},
	} {
		_, stderr, status := runVkcnn(t, nil, c.args...)
		if status != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("vkcnn %s: status %d, stderr %q; want status 1 and one line with %q", strings.Join(c.args, " "), status, stderr, c.want)
		}
	}
}

// TestStopperIsShared: reproduce and the train runs it makes share one
// stopper, so a Ctrl-C that a run honours (or that comes as it ends) also
// stops reproduce; released by both, the next command gets a fresh one.
func TestStopperIsShared(t *testing.T) {
	outer := interrupts()
	inner := interrupts()
	if inner != outer {
		t.Fatal("a nested command got its own stopper")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !inner.requested(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SIGINT did not reach the stopper")
		}
	}
	inner.release()
	if active != outer || !outer.requested() {
		t.Fatal("releasing the inner use dropped the outer stopper or its request")
	}
	outer.release()
	if active != nil {
		t.Fatal("the stopper outlived its command")
	}
	fresh := interrupts()
	defer fresh.release()
	if fresh.requested() {
		t.Fatal("a new command inherited the old request to stop")
	}
}

// TestReproduceImageFolderAndNPZ reproduces on the data train takes: a
// single tree of class folders of mixed sizes and colours, read with
// --image-size, --color and --val-split, which every run records and the
// folder keeps (another --image-size is refused); and a Keras .npz file.
func TestReproduceImageFolderAndNPZ(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := augment.Geometry{Height: 12, Width: 16, Channels: 3}
	tree := t.TempDir()
	writeImageFolder(t, rng, tree, g, 120)
	out := filepath.Join(t.TempDir(), "repro")
	args := []string{"reproduce", "--model", smallModel(t, g, 3), "--epochs", "1", "--seeds", "1", "--experiments", "plain",
		"--steps", "3", "--batch-size", "8", "--out", out, "--data", tree}
	first := mustRun(t, append(args, "--image-size", "12x16", "--color", "rgb", "--val-split", "0.25")...)
	if !strings.Contains(first, "\nEpoch 1/1 ") {
		t.Fatalf("no run trained:\n%s", first)
	}
	rec, err := runfolder.ReadRecord(filepath.Join(out, "plain-seed1"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Data == nil || rec.Data.ImageSize != "12x16" || rec.Data.Color != "rgb" || rec.Config.ValSplit != 0.25 || rec.Data.Test != 30 {
		t.Errorf("run.json: data %+v, validation split %g", rec.Data, rec.Config.ValSplit)
	}
	_, stderr, status := runVkcnn(t, nil, append(args, "--image-size", "6x8", "--color", "rgb", "--val-split", "0.25")...)
	if status != 1 || !strings.Contains(stderr, "--image-size 12x16 --color rgb --val-split 0.25; give the same settings") {
		t.Errorf("another --image-size: status %d, %s", status, stderr)
	}
	// A bad folder is refused as train refuses it, after the run's name.
	args[len(args)-3] = filepath.Join(t.TempDir(), "other")
	_, stderr, status = runVkcnn(t, nil, append(args, "--image-size", "12x16", "--color", "rgb")...)
	if want := "vkcnn: plain seed 1: " + tree + " is one tree of class folders: give a --val-split"; status != 1 || !strings.Contains(stderr, want) {
		t.Errorf("a single tree without --val-split: status %d, %q; want %q", status, stderr, want)
	}

	gray := augment.Geometry{Height: 8, Width: 8, Channels: 1}
	images, labels := datatest.Learnable(rng, gray, 3, 40)
	archive := filepath.Join(t.TempDir(), "set.npz")
	if err := os.WriteFile(archive, datatest.NPZ(map[string][]byte{
		"x_train": datatest.NPY("|u1", []int{32, 8, 8}, images[:32*64]), "y_train": datatest.NPY("|u1", []int{32}, labels[:32]),
		"x_test": datatest.NPY("|u1", []int{8, 8, 8}, images[32*64:]), "y_test": datatest.NPY("|u1", []int{8}, labels[32:]),
	}), 0o644); err != nil {
		t.Fatal(err)
	}
	npzOut := filepath.Join(t.TempDir(), "repro")
	got := mustRun(t, "reproduce", "--model", smallModel(t, gray, 3), "--epochs", "1", "--seeds", "1", "--experiments", "plain",
		"--steps", "2", "--batch-size", "8", "--out", npzOut, "--data", archive)
	if !strings.Contains(got, "Data: "+archive+": NumPy .npz, 32 training and 8 test images of 8x8x1") {
		t.Errorf("no run on the archive:\n%s", got)
	}
}

package cli

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/runfolder"
)

// The fault tests run a vkcnn built with the faultinject tag, whose
// VKCNN_FAULT makes the device lost or hung, an allocation or a file
// write fail, or the process die at a point of a file write
// (internal/faults). The release binary has no such switch: no variable
// of the environment can make it fail.
var (
	faultBuild  sync.Once
	faultBinary string
	faultErr    error
)

// faulty builds the faultinject binary once, or takes the one beside the
// test binary where there is one (built with it for a machine without Go:
// scripts/gpu-check.sh).
func faulty(t *testing.T) string {
	t.Helper()
	faultBuild.Do(func() {
		if exe, err := os.Executable(); err == nil {
			faultBinary = filepath.Join(filepath.Dir(exe), "vkcnn-faultinject")
			if _, err := os.Stat(faultBinary); err == nil {
				return
			}
		}
		faultBinary = filepath.Join(filepath.Dir(binary), "vkcnn-faultinject")
		build := exec.Command("go", "build", "-tags", "faultinject", "-o", faultBinary, "github.com/vkcnn/vkcnn/cmd/vkcnn")
		var out bytes.Buffer
		build.Stderr = &out
		if err := build.Run(); err != nil {
			faultErr = fmt.Errorf("build vkcnn -tags faultinject: %v: %s", err, out.String())
		}
	})
	if faultErr != nil {
		t.Fatal(faultErr)
	}
	return faultBinary
}

// runFault runs the faultinject binary with VKCNN_FAULT set to fault (""
// for none) and the extra environment.
func runFault(t *testing.T, fault string, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	return runBinary(t, faulty(t), append(env, "VKCNN_FAULT="+fault), args...)
}

// smallDigits writes a data folder of MNIST's first train and test
// digits, uncompressed: runs that load in no time.
func smallDigits(t *testing.T, train, test int) string {
	t.Helper()
	d, err := dataset.Load(dataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{}
	for _, s := range []struct {
		prefix string
		set    *dataset.Set
		n      int
	}{{"train", d.Train, train}, {"t10k", d.Test, test}} {
		files[s.prefix+"-images-idx3-ubyte"] = datatest.IDXImages(d.Geometry, s.n, s.set.Images[:s.n*d.Geometry.Values()])
		files[s.prefix+"-labels-idx1-ubyte"] = datatest.IDXLabels(s.set.Labels[:s.n])
	}
	datatest.Write(t, dir, files)
	return dir
}

// faultRun is a short run of the tiny model that the fault tests stop
// and resume: two epochs of four steps, validated on 64 test digits.
type faultRun struct {
	model, data string
	// weights is weights.safetensors of the run done without a fault.
	weights []byte
}

func newFaultRun(t *testing.T) *faultRun {
	t.Helper()
	r := &faultRun{model: writeTinyModel(t), data: smallDigits(t, 512, 64)}
	dir := filepath.Join(t.TempDir(), "whole")
	r.train(t, "", nil, 0, "--epochs", "2", "--out", dir)
	r.weights = readFile(t, filepath.Join(dir, "weights.safetensors"))
	return r
}

// train runs vkcnn train with the run's settings and args, with the fault
// and environment given, and checks its status.
func (r *faultRun) train(t *testing.T, fault string, env []string, status int, args ...string) (stdout, stderr string) {
	t.Helper()
	args = append([]string{"train", "--data", r.data}, args...)
	if !strings.Contains(strings.Join(args, " "), "--resume") {
		args = append(args, "--model", r.model, "--batch-size", "8", "--steps-per-epoch", "4", "--seed", "3")
	}
	stdout, stderr, got := runFault(t, fault, env, args...)
	if got != status {
		t.Fatalf("vkcnn %s (VKCNN_FAULT=%s): status %d, want %d; stderr: %s", strings.Join(args, " "), fault, got, status, stderr)
	}
	return stdout, stderr
}

// firstEpoch trains the run's first epoch into a new folder and returns
// the folder and its checkpoint's bytes.
func (r *faultRun) firstEpoch(t *testing.T) (dir string, checkpoint []byte) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "run")
	r.train(t, "", nil, 0, "--epochs", "1", "--out", dir)
	return dir, readFile(t, filepath.Join(dir, runfolder.CheckpointFile))
}

// finish resumes the run in dir to its second epoch's end and checks it
// ends bit for bit as the run without a fault, with no temporary file
// left.
func (r *faultRun) finish(t *testing.T, dir string) {
	t.Helper()
	r.train(t, "", nil, 0, "--resume", dir, "--epochs", "2")
	if !bytes.Equal(readFile(t, filepath.Join(dir, "weights.safetensors")), r.weights) {
		t.Error("the resumed run's weights differ from those of the run without a fault")
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(temps) > 0 {
		t.Errorf("temporary files left: %q", temps)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkLine checks that the last line of stderr holds each of want.
func checkLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("the last line of stderr does not say %q:\n%s", w, stderr)
		}
	}
}

// TestTrainFaultsLoseNothing stops the second epoch of a resumed run with
// a lost device, a hang, a full disk and a failed write, and kills it at
// each point of its checkpoint's write: each time the message and status
// say what happened, the checkpoint is the one before the fault (or,
// killed after the rename, the new one), and --resume ends bit for bit
// as the run without a fault.
func TestTrainFaultsLoseNothing(t *testing.T) {
	r := newFaultRun(t)
	for _, tc := range []struct {
		name, fault string
		env         []string
		status      int
		want        []string
		// every: checkpoint every that many steps; renamed: the new
		// checkpoint is in place when the process dies.
		every   int
		renamed bool
	}{
		{name: "device lost", fault: "submit:2:lost", status: 75,
			want: []string{"epoch 2, step 2: the device was lost (VK_ERROR_DEVICE_LOST", "holds the end of epoch 1", "continue with vkcnn train --resume"}},
		{name: "hang", fault: "wait:3:hang", env: []string{"VKCNN_WATCHDOG=1s"}, status: 75,
			want: []string{"epoch 2, step 3: the device hung: the recorded work did not finish within 1s", "holds the end of epoch 1", "raise --watchdog"}},
		{name: "full disk", fault: "write:1:nospace:" + runfolder.CheckpointFile, status: 1,
			want: []string{"write the checkpoint", "no space left on device", "holds the end of epoch 1"}},
		{name: "failed write", fault: "write:1:eio:" + runfolder.CheckpointFile, status: 1,
			want: []string{"write the checkpoint", "input/output error", "holds the end of epoch 1"}},
		// Killed at the checkpoint of step 2, the run's sixth.
		{name: "killed writing", fault: "write:1:kill:" + runfolder.CheckpointFile, every: 2, status: -1},
		{name: "killed before the rename", fault: "rename:1:kill:" + runfolder.CheckpointFile, every: 2, status: -1},
		{name: "killed after the rename", fault: "renamed:1:kill:" + runfolder.CheckpointFile, every: 2, status: -1, renamed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, before := r.firstEpoch(t)
			args := []string{"--resume", dir, "--epochs", "2"}
			if tc.every > 0 {
				args = append(args, "--checkpoint-every", strconv.Itoa(tc.every))
			}
			_, stderr := r.train(t, tc.fault, tc.env, tc.status, args...)
			if tc.status > 0 {
				checkLine(t, stderr, append(tc.want, dir)...)
			}
			if after := readFile(t, filepath.Join(dir, runfolder.CheckpointFile)); bytes.Equal(after, before) == tc.renamed {
				t.Errorf("the checkpoint changed %v, want %v", !bytes.Equal(after, before), tc.renamed)
			}
			r.finish(t, dir)
		})
	}
}

// TestTrainRandomKills kills a run that checkpoints every step at 10
// seeded random moments: each time the folder holds a checkpoint that
// resumes to the end bit for bit as the run without a fault.
func TestTrainRandomKills(t *testing.T) {
	r := newFaultRun(t)
	rng := rand.New(rand.NewPCG(17, 18))
	for i := range 10 {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("run%d", i))
		cmd := exec.Command(faulty(t), "train", "--data", r.data, "--batch-size", "8", "--model", r.model, "--steps-per-epoch", "4",
			"--seed", "3", "--epochs", "2", "--checkpoint-every", "1", "--out", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// The first checkpoint, then somewhere in the rest of the run.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, runfolder.CheckpointFile)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("no checkpoint within a minute")
			}
		}
		delay := time.Duration(rng.IntN(400)) * time.Millisecond
		var err error
		select {
		case err = <-done: // finished first
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-done
		}
		if err == nil {
			if !bytes.Equal(readFile(t, filepath.Join(dir, "weights.safetensors")), r.weights) {
				t.Errorf("kill %d came after the end, whose weights differ from the run's", i)
			}
			continue
		}
		t.Logf("kill %d after %s", i, delay)
		r.finish(t, dir)
	}
}

// TestOutOfMemoryLeavesNoRunFolder fails an allocation of the network: a
// line saying memory ran out, status 3, and no run folder.
func TestOutOfMemoryLeavesNoRunFolder(t *testing.T) {
	r := &faultRun{model: writeTinyModel(t), data: smallDigits(t, 64, 16)}
	dir := filepath.Join(t.TempDir(), "run")
	_, stderr := r.train(t, "alloc:5:oom", nil, 3, "--epochs", "1", "--out", dir)
	checkLine(t, stderr, "tiny at batch size 8", "the device ran out of memory (VK_ERROR_OUT_OF_DEVICE_MEMORY", "a smaller batch size")
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run folder is left: %v", err)
	}
}

// TestCommandsSayTheDeviceWasLost loses the device in each command that
// runs work on it: each says so in its own words, with status 75.
func TestCommandsSayTheDeviceWasLost(t *testing.T) {
	r := newFaultRun(t)
	dir, _ := r.firstEpoch(t)
	digit := filepath.Join(t.TempDir(), "digit.png")
	d, err := dataset.Load(r.data)
	if err != nil {
		t.Fatal(err)
	}
	writePNG(t, digit, d.Train.Images[:d.Geometry.Values()], d.Geometry, 1, false)
	logits := filepath.Join(t.TempDir(), "logits.npy")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--run", dir, "--data", r.data, "--logits", logits}, "evaluate " + dir + " on the test set: the device was lost"},
		{[]string{"predict", "--run", dir, digit}, "classify 1 images with " + dir + ": the device was lost"},
		{[]string{"tune", "--model", r.model, "--batch-size", "4", "--reps", "1"}, "the device was lost (VK_ERROR_DEVICE_LOST in vkQueueSubmit); the tuning cache is as it was"},
		{[]string{"bench", "all", "--model", r.model, "--batch-size", "4", "--reps", "1"}, "time a training step of " + r.model + " at batch size 4: the device was lost"},
	} {
		_, stderr, status := runFault(t, "submit:1:lost", []string{"VKCNN_TUNING=" + filepath.Join(t.TempDir(), "tuning.json")}, tc.args...)
		if status != 75 {
			t.Errorf("vkcnn %s: status %d, want 75; stderr: %s", tc.args[0], status, stderr)
		}
		checkLine(t, stderr, tc.want)
	}
	if _, err := os.Stat(logits); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("eval wrote its logits: %v", err)
	}
}

// TestReproduceStopsOrKeepsGoing loses the device in the first of two
// runs: reproduce stops there with the run's line and status 75; with
// --keep-going it trains the second too, and still ends with status 75,
// naming the run that failed.
func TestReproduceStopsOrKeepsGoing(t *testing.T) {
	data, model := smallDigits(t, 128, 32), writeTinyModel(t)
	for _, keep := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "repro")
		args := []string{"reproduce", "--model", model, "--epochs", "1", "--seeds", "1", "--experiments", "plain,shift",
			"--steps-per-epoch", "2", "--batch-size", "8", "--out", out, "--data", data}
		if keep {
			args = append(args, "--keep-going")
		}
		_, stderr, status := runFault(t, "submit:2:lost", nil, args...)
		if status != 75 || !strings.Contains(stderr, "plain seed 1: epoch 1, step 2: the device was lost") {
			t.Errorf("--keep-going %v: status %d, stderr: %s", keep, status, stderr)
		}
		_, err := os.Stat(filepath.Join(out, "shift-seed1", "weights.safetensors"))
		if trained := err == nil; trained != keep {
			t.Errorf("--keep-going %v: the second run trained: %v", keep, trained)
		}
		if keep {
			checkLine(t, stderr, "1 of 2 runs failed: plain seed 1")
		}
	}
}

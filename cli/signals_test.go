package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syncBuffer lets the test read what the process has written so far.
type syncBuffer struct {
	buf  bytes.Buffer
	seen chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	n, err := b.buf.Write(p)
	select {
	case b.seen <- struct{}{}:
	default:
	}
	return n, err
}

// TestTermStopsWithAPartialEpochLine sends SIGTERM, as a time limit does,
// during an epoch: training stops after the step with a checkpoint, and
// says how far it got, how fast, and how long a whole epoch would take.
func TestTermStopsWithAPartialEpochLine(t *testing.T) {
	data := dataDir(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(binary, "train", "--model", writeTinyModel(t), "--epochs", "1", "--steps", "100000",
		"--batch-size", "16", "--data", data, "--out", run)
	stdout := &syncBuffer{seen: make(chan struct{}, 1)}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first line comes just before the signal handler is installed.
	select {
	case <-stdout.seen:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("no output from vkcnn train within a minute")
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 130 {
		t.Fatalf("exit %v, want status 130; stderr: %s", err, stderr.String())
	}
	line := regexp.MustCompile(`(?m)^Epoch 1/1 stopped at step (\d+)/\d+ - \d+s - loss: [\d.]+ - acc: [\d.]+ - \d+ img/s - a whole epoch would take \d+s$`)
	if !line.MatchString(stdout.buf.String()) {
		t.Fatalf("no partial-epoch line in:\n%s", stdout.buf.String())
	}
	if !strings.Contains(stderr.String(), "checkpoint written") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoint.safetensors")); err != nil {
		t.Error(err)
	}
}

package runfolder

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/report"
)

func TestSeedRunName(t *testing.T) {
	for _, tc := range []struct {
		prec kernels.Precision
		want string
	}{{kernels.FP32, "shift-seed2"}, {kernels.BF16, "shift-bf16-seed2"}, {kernels.BF16x3, "shift-bf16x3-seed2"}} {
		if got := SeedRunName("shift", tc.prec, 2); got != tc.want {
			t.Errorf("SeedRunName(shift, %s, 2) = %q, want %q", tc.prec, got, tc.want)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadRecord(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a folder without run.json: %v, want fs.ErrNotExist", err)
	}
	rec := Record{Model: "standard", Config: nn.TrainConfig{Epochs: 3, BatchSize: 64, LR: 0.001, Seed: 2, Precision: kernels.BF16},
		Data:   &Data{Dir: "data/mnist", Format: "idx", Height: 28, Width: 28, Channels: 1, Classes: 10, Train: 60000, Test: 10000},
		Device: "llvmpipe", Driver: "llvmpipe Mesa"}
	if err := WriteRecord(dir, rec); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecord(dir)
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, rec)
	}
	if err := os.WriteFile(filepath.Join(dir, RecordFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRecord(dir); err == nil {
		t.Fatal("a torn run.json read without an error")
	}
}

func TestState(t *testing.T) {
	dir := t.TempDir()
	h, checkpoint, err := State(dir)
	if err != nil || len(h) != 0 || checkpoint {
		t.Fatalf("an empty folder: %d epochs, checkpoint %v, %v; want none", len(h), checkpoint, err)
	}
	epochs := []report.Epoch{{Epoch: 1, Loss: 0.5, Acc: 0.9, ValLoss: 0.4, ValAcc: 0.95, Seconds: 21}, {Epoch: 2, Loss: 0.3, Acc: 0.95, ValLoss: 0.2, ValAcc: 0.97, Seconds: 20}}
	if err := report.WriteHistory(filepath.Join(dir, HistoryFile), epochs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CheckpointFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h, checkpoint, err = State(dir)
	if err != nil || len(h) != 2 || h[1].Seconds != 20 || !checkpoint {
		t.Fatalf("2 epochs and a checkpoint read as %+v, checkpoint %v, %v", h, checkpoint, err)
	}
}

func TestLoadSaysWhatARunFolderHolds(t *testing.T) {
	_, _, err := Load(t.TempDir())
	if !errors.Is(err, ErrNoRun) {
		t.Fatalf("Load of an empty folder: %v, want ErrNoRun", err)
	}
}

func TestCopySmallFiles(t *testing.T) {
	from, to := t.TempDir(), filepath.Join(t.TempDir(), "shift-seed1")
	for _, name := range append([]string{WeightsFile, CheckpointFile}, SmallFiles...) {
		if err := os.WriteFile(filepath.Join(from, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := CopySmallFiles(from, to); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(to)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
		if data, _ := os.ReadFile(filepath.Join(to, e.Name())); string(data) != e.Name() {
			t.Errorf("%s holds %q", e.Name(), data)
		}
	}
	if want := []string{HistoryFile, KernelsFile, RecordFile, StepsFile}; !reflect.DeepEqual(got, want) {
		t.Fatalf("copied %v, want %v (never the weights)", got, want)
	}
}

package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestWriteRemovesStaleTemporaries: a killed writer's temporary files go
// with the next write of the same file, all of them with Clean, and
// nothing else does.
func TestWriteRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".checkpoint.safetensors.tmp123", ".checkpoint.safetensors.tmp9", ".run.json.tmp42", ".hidden", "run.tmp1", "notes.tmp7.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := Write(filepath.Join(dir, "checkpoint.safetensors"), func(w io.Writer) error {
		_, err := w.Write([]byte("new"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".hidden", ".run.json.tmp42", "checkpoint.safetensors", "notes.tmp7.txt", "run.tmp1"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after the write: %q, want %q", got, want)
	}
	if err := Clean(dir); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(n string) bool { return n == ".run.json.tmp42" })
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after Clean: %q, want %q", got, want)
	}
}

// TestFailedWriteKeepsTheOldFile: a write that fails leaves the previous
// file as it was, and no temporary file.
func TestFailedWriteKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weights.safetensors")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("disk full")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("write: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("the file holds %q", data)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"weights.safetensors"}) {
		t.Errorf("files: %q", got)
	}
}

// TestWriteAtFillsOutOfOrder fills a file through WriteAt from several
// goroutines, in no order; a fill that fails leaves the old file whole.
func TestWriteAtFillsOutOfOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.bin")
	want := make([]byte, 4096)
	for i := range want {
		want[i] = byte(i * 7)
	}
	err := WriteAt(path, int64(len(want)), func(w io.WriterAt) error {
		errs := make(chan error, 8)
		for part := 7; part >= 0; part-- {
			go func() {
				_, err := w.WriteAt(want[part*512:(part+1)*512], int64(part*512))
				errs <- err
			}()
		}
		var all []error
		for range 8 {
			all = append(all, <-errs)
		}
		return errors.Join(all...)
	})
	got, rerr := os.ReadFile(path)
	if err != nil || rerr != nil || !slices.Equal(got, want) {
		t.Fatalf("write: %v, read: %v, %d bytes as wanted: %v", err, rerr, len(got), slices.Equal(got, want))
	}
	failed := errors.New("decoding failed")
	if err := WriteAt(path, 10, func(w io.WriterAt) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("a failed fill: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || !slices.Equal(got, want) || len(names(t, filepath.Dir(path))) != 1 {
		t.Errorf("after a failed fill: %v, the old file kept: %v, files %v", err, slices.Equal(got, want), names(t, filepath.Dir(path)))
	}
}

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

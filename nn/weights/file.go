package weights

import (
	"fmt"
	"io"
	"os"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// SaveFile writes tensors and metadata to path atomically: to a temporary
// file in the same directory, synced, then renamed over path, and the
// directory synced, so a crash leaves either the old file or the new one,
// never a torn one.
func SaveFile(path string, tensors []Tensor, metadata map[string]string) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return Write(w, tensors, metadata) }); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// LoadFile reads a safetensors file written by SaveFile (or any F32
// safetensors file) and returns its tensors in data order and its metadata.
func LoadFile(path string) ([]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("load %s: not a regular file", path)
	}
	tensors, metadata, err := Read(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", path, err)
	}
	return tensors, metadata, nil
}

package weights

import (
	"fmt"
	"os"
	"path/filepath"
)

// SaveFile writes tensors and metadata to path atomically: to a temporary
// file in the same directory, synced, then renamed over path, and the
// directory synced, so a crash leaves either the old file or the new one,
// never a torn one.
func SaveFile(path string, tensors []Tensor, metadata map[string]string) error {
	if err := writeAtomic(path, tensors, metadata); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, tensors []Tensor, metadata map[string]string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := writeSyncClose(f, tensors, metadata); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	// The rename is durable only once the directory entry is.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeSyncClose writes the file and closes it, whatever happens.
func writeSyncClose(f *os.File, tensors []Tensor, metadata map[string]string) error {
	err := f.Chmod(0o644) // CreateTemp makes 0600; weights are not secret
	if err == nil {
		err = Write(f, tensors, metadata)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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

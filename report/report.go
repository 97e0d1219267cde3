// Package report writes what a training run leaves behind besides its
// weights: the per-epoch history as CSV and PNG figures of it, and grids of
// digit images. Every file is written atomically, so a crash mid-write never
// leaves a torn file where a good one was.
package report

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// writeFileAtomic writes path through write: to a temporary file in the
// same directory, synced, renamed over path, then the directory synced so
// the rename itself survives a crash.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := writeSyncClose(f, write); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeSyncClose fills f through write and closes it, whatever happens.
func writeSyncClose(f *os.File, write func(io.Writer) error) error {
	err := f.Chmod(0o644) // CreateTemp makes 0600; reports are for reading
	if err == nil {
		bw := bufio.NewWriter(f)
		if err = write(bw); err == nil {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Package atomicfile writes files so that a crash or a full disk never
// leaves a torn file where a good one was: a failed write leaves the old
// file in place.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// Write writes path through write: to a temporary file in the
// same directory, synced, renamed over path, then the directory synced so
// the rename itself survives a crash.
func Write(path string, write func(io.Writer) error) error {
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
	err := f.Chmod(0o644) // CreateTemp makes 0600; vkcnn's files are for reading
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

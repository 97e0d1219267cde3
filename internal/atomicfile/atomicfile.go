// Package atomicfile writes files so that a crash or a full disk never
// leaves a torn file where a good one was: a failed write leaves the old
// file in place.
package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/vkcnn/vkcnn/internal/faults"
)

// Write writes path through write: to a temporary file in the
// same directory, synced, renamed over path, then the directory synced so
// the rename itself survives a crash. A temporary file of path that a
// killed writer left is removed first.
func Write(path string, write func(io.Writer) error) error {
	return replace(path, func(f *os.File, base string) error {
		bw := bufio.NewWriter(f)
		err := write(bw)
		if err == nil {
			err = injected(faults.At(faults.Write, base), f.Name())
		}
		if err == nil {
			err = bw.Flush()
		}
		return err
	})
}

// WriteAt is Write for a file of size bytes that write fills through
// WriteAt, in any order and from several goroutines at once: a file too
// large to be held in memory first.
func WriteAt(path string, size int64, write func(io.WriterAt) error) error {
	return replace(path, func(f *os.File, base string) error {
		err := f.Truncate(size)
		if err == nil {
			err = write(f)
		}
		if err == nil {
			err = injected(faults.At(faults.Write, base), f.Name())
		}
		return err
	})
}

// replace fills a temporary file beside path through fill, syncs it and
// renames it over path, then syncs the directory.
func replace(path string, fill func(f *os.File, base string) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := clean(dir, base); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := fillSyncClose(f, base, fill); err != nil {
		os.Remove(tmp)
		return err
	}
	faults.At(faults.Rename, base)
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	faults.At(faults.Renamed, base)
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// tempPrefix starts the names of base's temporary files.
func tempPrefix(base string) string { return "." + base + ".tmp" }

// Clean removes the temporary files that killed writers left in dir.
func Clean(dir string) error { return clean(dir, "") }

// temporary matches the names of Write's temporary files: the file's
// name after a dot, then ".tmp" and CreateTemp's digits.
var temporary = regexp.MustCompile(`^\.(.+)\.tmp[0-9]+$`)

// clean removes the temporary files of base in dir, of every file where
// base is "".
func clean(dir, base string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		m := temporary.FindStringSubmatch(e.Name())
		if m != nil && e.Type().IsRegular() && (base == "" || m[1] == base) {
			errs = append(errs, os.Remove(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// fillSyncClose fills f through fill and closes it, whatever happens.
func fillSyncClose(f *os.File, base string, fill func(f *os.File, base string) error) error {
	err := f.Chmod(0o644) // CreateTemp makes 0600; vkcnn's files are for reading
	if err == nil {
		err = fill(f, base)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// injected is the error of an injected full disk or failed write.
func injected(a faults.Action, path string) error {
	switch a {
	case faults.NoSpace:
		return &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
	case faults.IOError:
		return &os.PathError{Op: "write", Path: path, Err: syscall.EIO}
	}
	return nil
}

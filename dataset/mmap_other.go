//go:build !unix

package dataset

import "os"

// mapFile reads the file at path whole where memory maps are not wired
// up (outside Unix): the set must then fit the host's memory.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	data, err = os.ReadFile(path)
	return data, func() error { return nil }, err
}

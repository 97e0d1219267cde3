//go:build !faultinject

package faults

// At is the fault to inject at a point (file: the base name of the file
// a file point writes, else ""): never one in a release binary.
func At(point, file string) Action { return None }

//go:build unix

// Package cputime reads the CPU time the process has taken, for the
// benchmarks that time lavapipe on a machine others share: the CPU time
// its threads spend is what the work costs, the wall clock also how long
// it waited for a core.
package cputime

import "syscall"

// Process is the CPU time the process has taken, in seconds, user and
// system, every thread included (on lavapipe, the device's work); 0 where
// it cannot be read.
func Process() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

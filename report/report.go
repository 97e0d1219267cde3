// Package report writes what a training run leaves behind besides its
// weights: the per-epoch history as CSV and PNG figures of it, and grids of
// images. Every file is written atomically, so a crash mid-write never
// leaves a torn file where a good one was.
package report

package dataset

import (
	"os"
	"testing"
)

// BenchmarkLoad reads the data set in $VKCNN_BENCH_LOAD each iteration:
// an IDX folder, or an image folder once its decoded cache is written
// (BENCHMARKS compares the two on MNIST).
func BenchmarkLoad(b *testing.B) {
	dir := os.Getenv("VKCNN_BENCH_LOAD")
	if dir == "" {
		b.Skip("set VKCNN_BENCH_LOAD to a data folder")
	}
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

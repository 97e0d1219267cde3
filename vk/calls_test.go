package vk

import (
	"errors"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
)

// vulkan-go's own vkQueueSubmit (and the other calls that take a slice of
// structures) could hand the driver C memory that a finalizer freed during
// the call: with a collector busy beside it, the submission crashed the
// process within a few hundred steps, under the validation layer at once.
// The calls that go around vulkan-go (calls.go) build their structures on
// the C stack.
func TestCallsSurviveTheCollector(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	k := fillKernel(t, ctx)
	const n = 64
	a, err := ctx.NewBuffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ctx.NewBuffer(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	grid, err := ctx.Grid1D(1)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	collected := make(chan struct{})
	go func() { // frees and reuses small objects as fast as it can
		for !stop.Load() {
			garbage := make([][]uint64, 0, 1000)
			for range 1000 {
				garbage = append(garbage, []uint64{math.MaxUint64, math.MaxUint64})
			}
			runtime.KeepAlive(garbage)
			runtime.GC()
		}
		close(collected)
	}()
	defer func() { stop.Store(true); <-collected }()
	for step := range 300 {
		rec, err := ctx.NewRecording()
		if err != nil {
			t.Fatal(err)
		}
		err = errors.Join(rec.Dispatch(k, grid, []uint32{n, math.Float32bits(float32(step))}, Whole(a)), rec.Copy(Whole(a), Whole(b)))
		for range 10 {
			err = errors.Join(err, rec.Run())
		}
		rec.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	got := make([]float32, n)
	if err := b.ReadFloat32(0, got); err != nil {
		t.Fatal(err)
	}
	if got[0] != 299 || got[n-1] != 299 {
		t.Fatalf("b = %g..%g, want 299", got[0], got[n-1])
	}
}

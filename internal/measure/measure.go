// Package measure times vkcnn's kernels on a device: a GEMM checked
// against the reference, every candidate kernel of a product, and a whole
// training step part by part. The bench and tune commands print what it
// measures.
package measure

import (
	"time"

	"vkcnn/vk"
)

// timedRecording records work between two timestamps, where the device
// has them.
func timedRecording(ctx *vk.Context, work func(*vk.Recording) error) (*vk.Recording, error) {
	rec, err := ctx.NewRecording()
	if err != nil {
		return nil, err
	}
	stamp := func() error {
		if !ctx.Info.Timestamps {
			return nil
		}
		_, err := rec.Timestamp()
		return err
	}
	err = stamp()
	if err == nil {
		err = work(rec)
	}
	if err == nil {
		err = stamp()
	}
	if err != nil {
		rec.Close()
		return nil, err
	}
	return rec, nil
}

// runTimes runs a timedRecording n times and returns each run's seconds:
// between its timestamps where the device has them, else on the wall clock.
func runTimes(ctx *vk.Context, rec *vk.Recording, n int) ([]float64, error) {
	times := make([]float64, n)
	for i := range times {
		start := time.Now()
		if err := rec.Run(); err != nil {
			return nil, err
		}
		times[i] = time.Since(start).Seconds()
		if ctx.Info.Timestamps {
			d, err := rec.Elapsed(0, 1)
			if err != nil {
				return nil, err
			}
			times[i] = d.Seconds()
		}
	}
	return times, nil
}

// randomFloats fills a new buffer of bufs with n floats drawn uniformly
// from [-1, 1) by next.
func randomFloats(ctx *vk.Context, bufs *vk.Buffers, n int, next func() float32) (*vk.Buffer, []float32, error) {
	data := make([]float32, n)
	for i := range data {
		data[i] = 2*next() - 1
	}
	b, err := bufs.New(ctx, 4*int64(n))
	if err != nil {
		return nil, nil, err
	}
	return b, data, b.WriteFloat32(0, data)
}

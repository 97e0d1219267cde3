// Package measure times vkcnn's kernels on a device: a GEMM checked
// against the reference, every candidate kernel of a product, and a whole
// training step part by part. The bench and tune commands print what it
// measures.
package measure

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vkcnn/vkcnn/vk"
)

// A GPU's clocks rise under load (an H100 idles at 345 MHz and boosts to
// 1,980), and on one the same pipeline timed 10 to 45 TFLOPS from call to
// call. So every timing first runs its work in rounds of warmupRound runs
// until the medians of two successive rounds agree within
// warmupAgreement, for at most warmupLimit seconds of the work's own
// time; on a CPU device a tenth of that, whose cores change their clocks
// in microseconds and whose busy machines' timings seldom settle that
// close.
const (
	warmupRound     = 3
	warmupAgreement = 0.03
	warmupLimit     = 1.0
)

// Warmup is how a timing warmed up: its runs, their seconds, and whether
// the rate settled.
type Warmup struct {
	Runs    int     `json:"runs"`
	Seconds float64 `json:"seconds"`
	Settled bool    `json:"settled"`
}

func (w Warmup) String() string {
	settled := "settled"
	if !w.Settled {
		settled = "not settled"
	}
	return fmt.Sprintf("%d runs in %.2f s, %s", w.Runs, w.Seconds, settled)
}

// warmupLimitOn is warmupLimit on the device.
func warmupLimitOn(info vk.DeviceInfo) float64 {
	if info.Type == "CPU" {
		return warmupLimit / 10
	}
	return warmupLimit
}

// warmUp calls run, which runs the work once and returns its seconds,
// until the medians of two successive rounds agree or limit seconds of
// runs have passed: at least once.
func warmUp(run func() (float64, error), limit float64) (Warmup, error) {
	var w Warmup
	last := math.NaN()
	var round []float64
	for {
		t, err := run()
		if err != nil {
			return w, err
		}
		w.Runs++
		w.Seconds += t
		if round = append(round, t); len(round) == warmupRound {
			m := median(round)
			if math.Abs(m-last) <= warmupAgreement*last {
				w.Settled = true
				return w, nil
			}
			last, round = m, round[:0]
		}
		if w.Seconds >= limit {
			return w, nil
		}
	}
}

// median is the middle of times, which it sorts.
func median(times []float64) float64 {
	slices.Sort(times)
	return times[len(times)/2]
}

// recordingRun runs a timedRecording once, for warmUp.
func recordingRun(ctx *vk.Context, rec *vk.Recording) func() (float64, error) {
	return func() (float64, error) {
		t, err := runTimes(ctx, rec, 1)
		if err != nil {
			return 0, err
		}
		return t[0], nil
	}
}

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

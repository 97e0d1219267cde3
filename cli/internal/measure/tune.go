package measure

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// Candidate is one kernel choice's time on a product, or why it has none.
type Candidate struct {
	Variant       string  `json:"variant"`
	MedianSeconds float64 `json:"median_s,omitempty"`
	GFLOPS        float64 `json:"gflops,omitempty"`
	Warmup        *Warmup `json:"warmup,omitempty"`
	Skipped       string  `json:"skipped,omitempty"`
}

// Tuned is a product's candidates and the fastest of them.
type Tuned struct {
	Key        string      `json:"key"`
	Candidates []Candidate `json:"candidates"`
	Best       string      `json:"best"`
}

// slowCutoff: a candidate whose checked run takes this many times the
// best so far is not timed further.
const slowCutoff = 3

// Tune times every choice of kernel the device can run on p at a
// precision, with random operands, and returns them with the fastest.
// Each candidate's output must match the first's within the kernel tests'
// tolerance: they sum the same products in another order.
func Tune(ctx *vk.Context, p kernels.Product, prec kernels.Precision, reps int) (tp Tuned, err error) {
	tp.Key = p.Key()
	choices := kernels.Choices(ctx.Info, p, prec)
	// Arguments large enough for every candidate (a split's scratch grows
	// with it).
	sizes := p.ArgFloats(ctx.Info)
	for _, ch := range choices {
		for i, n := range p.With(ch).ArgFloats(ctx.Info) {
			sizes[i] = max(sizes[i], n)
		}
	}
	var bufs vk.Buffers
	defer bufs.Close()
	args := make([]vk.Range, len(sizes))
	rng := rand.New(rand.NewPCG(7, 8))
	for i, n := range sizes {
		b, _, err := randomFloats(ctx, &bufs, n, rng.Float32)
		if err != nil {
			return tp, err
		}
		args[i] = vk.Whole(b)
	}
	out := args[len(args)-1]
	var want []float32
	best := math.Inf(1)
	for _, ch := range choices {
		cand := Candidate{Variant: ch.String()}
		times, warmup, got, err := timeProduct(ctx, p.With(ch), args, out, reps, best)
		skipped := len(times) == 0
		if err != nil {
			return tp, fmt.Errorf("%s: %w", ch, err)
		}
		if want == nil {
			want = got
		} else if d, tol := maxDiff(got, want), 1e-4*maxAbs(want)+1e-5; d > tol {
			return tp, fmt.Errorf("%s differs from %s by %.3g (tolerance %.3g)", ch, tp.Candidates[0].Variant, d, tol)
		}
		if skipped {
			cand.Skipped = fmt.Sprintf("skipped: its checked run took over %dx the best", slowCutoff)
		} else {
			cand.Warmup = &warmup
			cand.MedianSeconds = median(times)
			cand.GFLOPS = p.FLOPs() / cand.MedianSeconds / 1e9
			if cand.MedianSeconds < best {
				best, tp.Best = cand.MedianSeconds, cand.Variant
			}
		}
		tp.Candidates = append(tp.Candidates, cand)
	}
	if tp.Best == "" {
		return tp, errors.New("no variant could be timed")
	}
	return tp, nil
}

// timeProduct runs p twice (returning its output) and then, unless the
// second run was over slowCutoff times best, warms up and runs it reps
// times more, timed by timestamps; no times means it was too slow.
func timeProduct(ctx *vk.Context, p kernels.Product, args []vk.Range, out vk.Range, reps int, best float64) (times []float64, warmup Warmup, got []float32, err error) {
	rec, err := timedRecording(ctx, func(rec *vk.Recording) error { return p.RecordArgs(ctx, rec, args) })
	if err != nil {
		return nil, warmup, nil, err
	}
	defer rec.Close()
	// Lavapipe compiles a pipeline at its first dispatch: a warm-up run
	// keeps compile time out of the check against the best.
	if err := rec.Run(); err != nil {
		return nil, warmup, nil, err
	}
	first, err := runTimes(ctx, rec, 1)
	if err != nil {
		return nil, warmup, nil, err
	}
	got = make([]float32, p.ArgFloats(ctx.Info)[len(args)-1])
	if err := out.Buf.ReadFloat32(0, got); err != nil {
		return nil, warmup, nil, err
	}
	if first[0] > slowCutoff*best {
		return nil, warmup, got, nil
	}
	if warmup, err = warmUp(recordingRun(ctx, rec), warmupLimitOn(ctx.Info)); err != nil {
		return nil, warmup, nil, err
	}
	times, err = runTimes(ctx, rec, reps)
	return times, warmup, got, err
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func maxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

package measure

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
)

// PrecisionError is how far a precision's product lies from float64 on
// sampled entries: the largest and the root mean square of
// |C - C64| / (|A|.|B|)ij, where (|A|.|B|)ij sums the absolute values of
// the entry's terms, which any rounding of them scales with.
type PrecisionError struct {
	Precision string `json:"precision"`
	// Variant is the kernel that ran; "" for TF32, which the host
	// emulates.
	Variant string  `json:"variant,omitempty"`
	Max     float64 `json:"max"`
	RMS     float64 `json:"rms"`
}

// TF32 names the host's emulation of a TF32 product among the errors:
// its inputs rounded to TF32's 11 significant bits (ref.TF32) and their
// products summed in float64, a lower bound of a TF32 kernel's error
// (PyTorch's default for convolutions on NVIDIA GPUs).
const TF32 = "tf32 (host)"

// ConvPrecision runs the forward pass of c (without bias or ReLU) on input
// x and kernel w at each of precs, with the kernel Default chooses for it,
// and measures its error on samples output entries drawn with seed; then
// TF32's. Every precision is checked against the same float64 entries
// (ref.ConvForwardEntryTerms).
func ConvPrecision(ctx *vk.Context, c kernels.Conv, x, w []float32, precs []kernels.Precision, samples int, seed uint64) ([]PrecisionError, error) {
	c.Bias, c.ReLU = false, false
	g := ref.ConvGeom{Batch: c.Batch, H: c.H, W: c.W, Cin: c.Cin, Cout: c.Cout, KH: c.KH, KW: c.KW}
	pixels := c.Batch * c.H * c.W
	if len(x) != pixels*c.Cin || len(w) != c.KH*c.KW*c.Cin*c.Cout || samples <= 0 {
		return nil, fmt.Errorf("conv %+v: %d input and %d kernel values, %d samples", g, len(x), len(w), samples)
	}
	rng := rand.New(rand.NewPCG(seed, 0x70726563)) // "prec"
	entries := make([][2]int, samples)
	want, abs := make([]float64, samples), make([]float64, samples)
	for i := range entries {
		entries[i] = [2]int{rng.IntN(pixels), rng.IntN(c.Cout)}
		want[i], abs[i] = ref.ConvForwardEntryTerms(g, x, w, entries[i][0], entries[i][1])
	}
	stats := func(prec, variant string, entry func(i int) float64) PrecisionError {
		e := PrecisionError{Precision: prec, Variant: variant}
		var squares float64
		for i := range entries {
			rel := 0.0
			if d := math.Abs(entry(i) - want[i]); d > 0 {
				rel = d / abs[i] // +Inf where a sum of no terms came out non-zero
			}
			if math.IsNaN(rel) {
				rel = math.Inf(1)
			}
			e.Max = max(e.Max, rel)
			squares += rel * rel
		}
		e.RMS = math.Sqrt(squares / float64(len(entries)))
		return e
	}

	var bufs vk.Buffers
	defer bufs.Close()
	xb, err := bufs.New(ctx, 4*int64(len(x)))
	if err != nil {
		return nil, err
	}
	wb, err := bufs.New(ctx, 4*int64(len(w)))
	if err != nil {
		return nil, err
	}
	out, err := bufs.New(ctx, 4*int64(pixels*c.Cout))
	if err != nil {
		return nil, err
	}
	if err := errors.Join(xb.WriteFloat32(0, x), wb.WriteFloat32(0, w)); err != nil {
		return nil, err
	}
	got := make([]float32, pixels*c.Cout)
	var res []PrecisionError
	for _, prec := range precs {
		ch := kernels.Default(ctx.Info, kernels.ConvProduct{Conv: c}, prec)
		conv := c
		conv.Variant, conv.Precision = ch.Variant, ch.Precision
		rec, err := ctx.NewRecording()
		if err != nil {
			return nil, err
		}
		err = conv.Forward(ctx, rec, vk.Whole(xb), vk.Whole(wb), vk.Whole(out), vk.Whole(wb))
		if err == nil {
			err = rec.Run()
		}
		rec.Close()
		if err == nil {
			err = errors.Join(ctx.Check(), out.ReadFloat32(0, got))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ch, err)
		}
		res = append(res, stats(prec.String(), ch.String(), func(i int) float64 {
			return float64(got[entries[i][0]*c.Cout+entries[i][1]])
		}))
	}
	tf32 := func(v []float32) []float32 {
		r := make([]float32, len(v))
		for i, f := range v {
			r[i] = ref.TF32(f)
		}
		return r
	}
	xt, wt := tf32(x), tf32(w)
	return append(res, stats(TF32, "", func(i int) float64 { return ref.ConvForwardEntry(g, xt, wt, entries[i][0], entries[i][1]) })), nil
}

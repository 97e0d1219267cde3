package ref

import "math"

// poolSpans calls f for each window of pooling g's NHWC input (KH x KW,
// steps SH and SW, PadTop and PadLeft padding that no window counts):
// the index of its output and those of its real inputs, in row-major
// order.
func poolSpans(g ConvGeom, f func(out int, in []int)) {
	var in []int
	for n := 0; n < g.Batch; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for c := 0; c < g.Cin; c++ {
					in = in[:0]
					for y := max(oy*g.SH-g.PadTop, 0); y < min(oy*g.SH-g.PadTop+g.KH, g.H); y++ {
						for x := max(ox*g.SW-g.PadLeft, 0); x < min(ox*g.SW-g.PadLeft+g.KW, g.W); x++ {
							in = append(in, ((n*g.H+y)*g.W+x)*g.Cin+c)
						}
					}
					f(((n*g.OH+oy)*g.OW+ox)*g.Cin+c, in)
				}
			}
		}
	}
}

// MaxPoolWindows64 is max pooling in g's windows: each window's first
// maximum in row-major order; from says which input it is and margin how
// far it lies above the window's next largest value.
func MaxPoolWindows64(g ConvGeom, x []float64) (y []float64, from []int, margin []float64) {
	y = make([]float64, g.Batch*g.OH*g.OW*g.Cin)
	from, margin = make([]int, len(y)), make([]float64, len(y))
	poolSpans(g, func(o int, in []int) {
		best := in[0]
		for _, j := range in[1:] {
			if x[j] > x[best] {
				best = j
			}
		}
		margin[o] = math.Inf(1)
		for _, j := range in {
			if j != best {
				margin[o] = min(margin[o], x[best]-x[j])
			}
		}
		y[o], from[o] = x[best], best
	})
	return y, from, margin
}

// MaxPoolWindowsBackward64 sums each window's gradient into the input
// from says, of an input of n values.
func MaxPoolWindowsBackward64(from []int, dOut []float64, n int) []float64 {
	dIn := make([]float64, n)
	for o, i := range from {
		dIn[i] += dOut[o]
	}
	return dIn
}

// AvgPoolWindows64 is the mean of each of g's windows' real pixels.
func AvgPoolWindows64(g ConvGeom, x []float64, r *Rounding) []float64 {
	y := make([]float64, g.Batch*g.OH*g.OW*g.Cin)
	poolSpans(g, func(o int, in []int) {
		s := newSums(1)
		for _, i := range in {
			s.add(0, x[i], 1)
		}
		y[o] = r.ops(s.done(len(in), r)[0]/float64(len(in)), 1)
	})
	return y
}

// AvgPoolWindowsBackward64 shares each window's gradient evenly among its
// real pixels.
func AvgPoolWindowsBackward64(g ConvGeom, dOut []float64, r *Rounding) []float64 {
	dIn := make([]float64, g.Batch*g.H*g.W*g.Cin)
	poolSpans(g, func(o int, in []int) {
		for _, i := range in {
			dIn[i] += r.ops(dOut[o]/float64(len(in)), 2)
		}
	})
	return dIn
}

// Pad64 is x with g.PadTop rows and g.PadLeft columns of zeros above and
// left, in an OH x OW output.
func Pad64(g ConvGeom, x []float64) []float64 {
	y := make([]float64, g.Batch*g.OH*g.OW*g.Cin)
	padded(g, func(in, out int) { y[out] = x[in] })
	return y
}

// Crop64 is Pad64's input gradient: dOut without the padding.
func Crop64(g ConvGeom, dOut []float64) []float64 {
	dIn := make([]float64, g.Batch*g.H*g.W*g.Cin)
	padded(g, func(in, out int) { dIn[in] = dOut[out] })
	return dIn
}

// padded calls f with each input index and where zero padding puts it.
func padded(g ConvGeom, f func(in, out int)) {
	for i := 0; i < g.Batch*g.H*g.W*g.Cin; i++ {
		c, x, y, n := i%g.Cin, i/g.Cin%g.W, i/(g.Cin*g.W)%g.H, i/(g.Cin*g.W*g.H)
		f(i, ((n*g.OH+y+g.PadTop)*g.OW+x+g.PadLeft)*g.Cin+c)
	}
}

// MaxPoolWindows is MaxPoolWindows64 of float32 values.
func MaxPoolWindows(g ConvGeom, x []float32) []float32 {
	y, _, _ := MaxPoolWindows64(g, Float64s(x))
	return toFloat32(y)
}

// MaxPoolWindowsBackward is each window's gradient summed into its first
// maximum, in float32 in output order as pool.comp sums them.
func MaxPoolWindowsBackward(g ConvGeom, x, dOut []float32) []float32 {
	_, from, _ := MaxPoolWindows64(g, Float64s(x))
	dIn := make([]float32, len(x))
	for o, i := range from {
		dIn[i] += dOut[o]
	}
	return dIn
}

// AvgPoolWindows is the mean of each window's real pixels, summed in
// float32 in row-major order as pool.comp does.
func AvgPoolWindows(g ConvGeom, x []float32) []float32 {
	y := make([]float32, g.Batch*g.OH*g.OW*g.Cin)
	poolSpans(g, func(o int, in []int) {
		var s float32
		for _, i := range in {
			s += x[i]
		}
		y[o] = s / float32(len(in))
	})
	return y
}

// AvgPoolWindowsBackward shares each window's gradient among its real
// pixels, in float32 in output order as pool.comp sums them.
func AvgPoolWindowsBackward(g ConvGeom, dOut []float32) []float32 {
	dIn := make([]float32, g.Batch*g.H*g.W*g.Cin)
	poolSpans(g, func(o int, in []int) {
		for _, i := range in {
			dIn[i] += dOut[o] / float32(len(in))
		}
	})
	return dIn
}

// Pad is Pad64 of float32 values.
func Pad(g ConvGeom, x []float32) []float32 { return toFloat32(Pad64(g, Float64s(x))) }

// Crop is Crop64 of float32 values.
func Crop(g ConvGeom, dOut []float32) []float32 { return toFloat32(Crop64(g, Float64s(dOut))) }

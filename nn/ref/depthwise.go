package ref

// A depthwise convolution is g with Cin the input's channels and Cout =
// Cin*m, output channel c*m + j being input channel c through kernel
// w[ky][kx][c][j] (Keras' HWCM layout).

// dwTaps calls f for each (output value, input value, kernel value) that
// the depthwise convolution multiplies.
func dwTaps(g ConvGeom, m int, f func(out, in, w int)) {
	g.Cout = g.Cin * m
	g.tap(func(o, i, ky, kx int) {
		for c := range g.Cin {
			for j := range m {
				f(o*g.Cout+c*m+j, i*g.Cin+c, (ky*g.KW+kx)*g.Cout+c*m+j)
			}
		}
	})
}

// DepthwiseForward64 is the depthwise convolution of x by w, plus bias
// unless it is nil.
func DepthwiseForward64(g ConvGeom, m int, x, w, bias []float64, r *Rounding) []float64 {
	cout := g.Cin * m
	s := newSums(g.Outputs() * cout)
	dwTaps(g, m, func(o, i, k int) { s.add(o, x[i], w[k]) })
	terms := g.KH * g.KW
	if bias != nil {
		terms++
		for i := range s.v {
			s.add(i, bias[i%cout], 1)
		}
	}
	return s.done(terms, r)
}

// DepthwiseBackwardData64 is the input gradient for output gradient dOut.
func DepthwiseBackwardData64(g ConvGeom, m int, dOut, w []float64, r *Rounding) []float64 {
	s := newSums(g.Batch * g.H * g.W * g.Cin)
	dwTaps(g, m, func(o, i, k int) { s.add(i, dOut[o], w[k]) })
	return s.done(g.KH*g.KW*m, r)
}

// DepthwiseBackwardFilter64 is the kernel gradient for input x and output
// gradient dOut.
func DepthwiseBackwardFilter64(g ConvGeom, m int, x, dOut []float64, r *Rounding) []float64 {
	s := newSums(g.KH * g.KW * g.Cin * m)
	dwTaps(g, m, func(o, i, k int) { s.add(k, x[i], dOut[o]) })
	return s.done(g.Outputs(), r)
}

// DepthwiseForward, DepthwiseBackwardData and DepthwiseBackwardFilter are
// the float32 references the kernel tests use: the float64 ones, rounded
// once.
func DepthwiseForward(g ConvGeom, m int, x, w, bias []float32, relu bool) []float32 {
	y := DepthwiseForward64(g, m, Float64s(x), Float64s(w), Float64s(bias), nil)
	if relu {
		y = ReLU64(y)
	}
	return toFloat32(y)
}

func DepthwiseBackwardData(g ConvGeom, m int, dOut, w []float32) []float32 {
	return toFloat32(DepthwiseBackwardData64(g, m, Float64s(dOut), Float64s(w), nil))
}

func DepthwiseBackwardFilter(g ConvGeom, m int, x, dOut []float32) []float32 {
	return toFloat32(DepthwiseBackwardFilter64(g, m, Float64s(x), Float64s(dOut), nil))
}

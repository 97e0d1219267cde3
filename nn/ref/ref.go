// Package ref is a plain-Go reference of every vkcnn kernel, for tests.
// It favours clarity over speed and accumulates in float64.
package ref

// Gemm returns C = op(A)*op(B) (+ bias[n]) (ReLU), with C M x N row-major.
// A is M x K (K x M if transA); B is K x N (N x K if transB); bias may be nil.
func Gemm(m, n, k int, a, b []float32, transA, transB bool, bias []float32, relu bool) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := GemmEntry(m, n, k, a, b, transA, transB, i, j)
			if bias != nil {
				s += float64(bias[j])
			}
			if relu && s < 0 {
				s = 0
			}
			c[i*n+j] = float32(s)
		}
	}
	return c
}

// Fill returns n copies of value.
func Fill(n int, value float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = value
	}
	return x
}

// Scale returns alpha*x.
func Scale(x []float32, alpha float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = alpha * v
	}
	return y
}

// Add returns x+y.
func Add(x, y []float32) []float32 {
	z := make([]float32, len(x))
	for i := range x {
		z[i] = x[i] + y[i]
	}
	return z
}

// GemmEntry returns element (i, j) of op(A)*op(B) in float64, for checking
// products too large to compute whole.
func GemmEntry(m, n, k int, a, b []float32, transA, transB bool, i, j int) float64 {
	var s float64
	for p := 0; p < k; p++ {
		av := a[i*k+p]
		if transA {
			av = a[p*m+i]
		}
		bv := b[p*n+j]
		if transB {
			bv = b[j*k+p]
		}
		s += float64(av) * float64(bv)
	}
	return s
}

// ConvGeom is a 2-D convolution on NHWC tensors, "same" padding, stride
// 1, odd kernel sides, kernel HWIO.
type ConvGeom struct{ Batch, H, W, Cin, Cout, KH, KW int }

// tap calls f for every (output pixel, input pixel, ky, kx) pair that the
// convolution connects, skipping the padding.
func (g ConvGeom) tap(f func(out, in, ky, kx int)) {
	for n := 0; n < g.Batch; n++ {
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				for ky := 0; ky < g.KH; ky++ {
					for kx := 0; kx < g.KW; kx++ {
						iy, ix := y+ky-g.KH/2, x+kx-g.KW/2
						if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
							continue
						}
						f((n*g.H+y)*g.W+x, (n*g.H+iy)*g.W+ix, ky, kx)
					}
				}
			}
		}
	}
}

func (g ConvGeom) w(ky, kx, ci, co int) int { return ((ky*g.KW+kx)*g.Cin+ci)*g.Cout + co }

// ConvForward returns conv(in, w) (+ bias) (ReLU).
func ConvForward(g ConvGeom, in, w, bias []float32, relu bool) []float32 {
	pixels := g.Batch * g.H * g.W
	acc := make([]float64, pixels*g.Cout)
	g.tap(func(o, i, ky, kx int) {
		for ci := 0; ci < g.Cin; ci++ {
			v := float64(in[i*g.Cin+ci])
			for co := 0; co < g.Cout; co++ {
				acc[o*g.Cout+co] += v * float64(w[g.w(ky, kx, ci, co)])
			}
		}
	})
	out := make([]float32, len(acc))
	for i, v := range acc {
		if bias != nil {
			v += float64(bias[i%g.Cout])
		}
		if relu && v < 0 {
			v = 0
		}
		out[i] = float32(v)
	}
	return out
}

// ConvBackwardData returns the input gradient for output gradient dOut.
func ConvBackwardData(g ConvGeom, dOut, w []float32) []float32 {
	acc := make([]float64, g.Batch*g.H*g.W*g.Cin)
	g.tap(func(o, i, ky, kx int) {
		for ci := 0; ci < g.Cin; ci++ {
			for co := 0; co < g.Cout; co++ {
				acc[i*g.Cin+ci] += float64(dOut[o*g.Cout+co]) * float64(w[g.w(ky, kx, ci, co)])
			}
		}
	})
	return toFloat32(acc)
}

// ConvBackwardFilter returns the kernel gradient for input in and output
// gradient dOut.
func ConvBackwardFilter(g ConvGeom, in, dOut []float32) []float32 {
	acc := make([]float64, g.KH*g.KW*g.Cin*g.Cout)
	g.tap(func(o, i, ky, kx int) {
		for ci := 0; ci < g.Cin; ci++ {
			for co := 0; co < g.Cout; co++ {
				acc[g.w(ky, kx, ci, co)] += float64(in[i*g.Cin+ci]) * float64(dOut[o*g.Cout+co])
			}
		}
	})
	return toFloat32(acc)
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

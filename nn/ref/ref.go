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

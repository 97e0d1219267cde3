// Package ref is a plain-Go reference of every vkcnn kernel, for tests.
// It favours clarity over speed and accumulates in float64. Most float32
// references here are the float64 ones of ref64.go rounded once at the
// end; those, run with a Rounding, also show how far float32 rounding may
// move a result.
package ref

import (
	"math"
	"slices"
	"sort"
)

// Gemm returns C = op(A)*op(B) (+ bias[n]) (ReLU), with C M x N row-major.
// A is M x K (K x M if transA); B is K x N (N x K if transB); bias may be nil.
func Gemm(m, n, k int, a, b []float32, transA, transB bool, bias []float32, relu bool) []float32 {
	return GemmTerms(m, n, k, [][2][]float32{{a, b}}, transA, transB, bias, relu)
}

// GemmTerms is Gemm of the sum of the products of terms' pairs (A, B)
// (see Terms).
func GemmTerms(m, n, k int, terms [][2][]float32, transA, transB bool, bias []float32, relu bool) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for _, t := range terms {
				s += GemmEntry(m, n, k, t[0], t[1], transA, transB, i, j)
			}
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
	s, _ := GemmEntryTerms(m, n, k, a, b, transA, transB, i, j)
	return s
}

// GemmEntryTerms is GemmEntry and the sum of its terms' absolute values,
// sum over p of |A[i][p] B[p][j]|, which a float rounding error of the
// entry scales with.
func GemmEntryTerms(m, n, k int, a, b []float32, transA, transB bool, i, j int) (sum, abs float64) {
	for p := 0; p < k; p++ {
		av := a[i*k+p]
		if transA {
			av = a[p*m+i]
		}
		bv := b[p*n+j]
		if transB {
			bv = b[j*k+p]
		}
		t := float64(av) * float64(bv)
		sum += t
		abs += math.Abs(t)
	}
	return sum, abs
}

// ConvGeom is a 2-D convolution on NHWC tensors, kernel HWIO: by default
// "same" padding, stride 1, odd kernel sides; with OH set, an OH x OW
// output of windows SH and SW pixels apart, the input padded by PadTop
// rows above and PadLeft columns left. DH and DW (0 is 1) space the
// taps (dilation); Groups (0 is 1) split the channels into groups
// convolved apart, the kernel KH x KW x Cin/Groups x Cout.
type ConvGeom struct {
	Batch, H, W, Cin, Cout, KH, KW  int
	OH, OW, SH, SW, PadTop, PadLeft int
	DH, DW, Groups                  int
}

// groups is the number of channel groups.
func (g ConvGeom) groups() int { return max(g.Groups, 1) }

// resolved is g with its default output, steps and padding set.
func (g ConvGeom) resolved() ConvGeom {
	if g.OH == 0 {
		g.OH, g.OW, g.SH, g.SW, g.PadTop, g.PadLeft = g.H, g.W, 1, 1, g.KH/2, g.KW/2
	}
	return g
}

// Outputs is the number of output pixels.
func (g ConvGeom) Outputs() int {
	r := g.resolved()
	return g.Batch * r.OH * r.OW
}

// w is the kernel's index of tap (ky, kx) from input channel ci (of
// co's group) to output channel co.
func (g ConvGeom) w(ky, kx, ci, co int) int {
	cg := g.Cin / g.groups()
	return ((ky*g.KW+kx)*cg+ci%cg)*g.Cout + co
}

// pairs calls f for each input channel and each output channel of its
// group, in order.
func (g ConvGeom) pairs(f func(ci, co int)) {
	cg, fg := g.Cin/g.groups(), g.Cout/g.groups()
	for ci := range g.Cin {
		for co := ci / cg * fg; co < (ci/cg+1)*fg; co++ {
			f(ci, co)
		}
	}
}

// tap calls f for every (output pixel, input pixel, ky, kx) pair that the
// convolution connects, skipping the padding.
func (g ConvGeom) tap(f func(out, in, ky, kx int)) {
	for o := 0; o < g.Outputs(); o++ {
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				if i := g.pixel(o, ky, kx); i >= 0 {
					f(o, i, ky, kx)
				}
			}
		}
	}
}

// pixel is the input pixel that kernel tap (ky, kx) reads for output
// pixel o, or -1 in the padding.
func (g ConvGeom) pixel(o, ky, kx int) int {
	r := g.resolved()
	n, oy, ox := o/(r.OH*r.OW), o/r.OW%r.OH, o%r.OW
	y, x := oy*r.SH-r.PadTop+ky*max(g.DH, 1), ox*r.SW-r.PadLeft+kx*max(g.DW, 1)
	if y < 0 || y >= g.H || x < 0 || x >= g.W {
		return -1
	}
	return (n*g.H+y)*g.W + x
}

// Windows is the matrix of x's windows over a group's channels that an
// im2col kernel makes: a row an output pixel, a column a tap (ky, kx, ci),
// zero in the padding.
func Windows(g ConvGeom, group int, x []float32) []float32 {
	cg := g.Cin / g.groups()
	taps := g.KH * g.KW * cg
	out := make([]float32, g.Outputs()*taps)
	g.tap(func(o, i, ky, kx int) {
		for ci := range cg {
			out[o*taps+(ky*g.KW+kx)*cg+ci] = x[i*g.Cin+group*cg+ci]
		}
	})
	return out
}

// WindowsBackward is the gradient of x's group channels from their
// windows' gradients col (the others' values as in x), each value the
// float32 sum of the entries that read it in the kernel's order: ky, then
// kx.
func WindowsBackward(g ConvGeom, group int, col, x []float32) []float32 {
	cg := g.Cin / g.groups()
	taps := g.KH * g.KW * cg
	type entry struct{ at, order int }
	reads := make([][]entry, g.Batch*g.H*g.W)
	g.tap(func(o, i, ky, kx int) {
		reads[i] = append(reads[i], entry{o*taps + (ky*g.KW+kx)*cg, ky*g.KW + kx})
	})
	out := slices.Clone(x)
	for i, es := range reads {
		sort.Slice(es, func(a, b int) bool { return es[a].order < es[b].order })
		for ci := range cg {
			var s float32
			for _, e := range es {
				s += col[e.at+ci]
			}
			out[i*g.Cin+group*cg+ci] = s
		}
	}
	return out
}

// GlobalAvgPool is the mean of each image's pixels, channel by channel,
// summed in float32 pixel by pixel.
func GlobalAvgPool(x []float32, batch, pixels, c int) []float32 {
	out := make([]float32, batch*c)
	for n := range batch {
		for ch := range c {
			var s float32
			for q := range pixels {
				s += x[(n*pixels+q)*c+ch]
			}
			out[n*c+ch] = s / float32(pixels)
		}
	}
	return out
}

// GlobalAvgPoolBackward spreads each output gradient evenly over its
// image's pixels.
func GlobalAvgPoolBackward(dy []float32, batch, pixels, c int) []float32 {
	out := make([]float32, batch*pixels*c)
	for i := range out {
		out[i] = dy[i/(pixels*c)*c+i%c] / float32(pixels)
	}
	return out
}

// ConvForwardEntry returns output (pixel o, channel co) of conv(in, w)
// in float64, without bias or ReLU. The entries check convolutions too
// large to compute whole (a test holds them to the whole references).
func ConvForwardEntry(g ConvGeom, in, w []float32, o, co int) float64 {
	s, _ := ConvForwardEntryTerms(g, in, w, o, co)
	return s
}

// ConvForwardEntryTerms is ConvForwardEntry and the sum of its terms'
// absolute values, as GemmEntryTerms.
func ConvForwardEntryTerms(g ConvGeom, in, w []float32, o, co int) (sum, abs float64) {
	for ky := 0; ky < g.KH; ky++ {
		for kx := 0; kx < g.KW; kx++ {
			if i := g.pixel(o, ky, kx); i >= 0 {
				for ci := 0; ci < g.Cin; ci++ {
					t := float64(in[i*g.Cin+ci]) * float64(w[g.w(ky, kx, ci, co)])
					sum += t
					abs += math.Abs(t)
				}
			}
		}
	}
	return sum, abs
}

// ConvBackwardDataEntry returns the input gradient at (pixel i, channel
// ci) for output gradient dOut: the output pixels whose taps read i.
func ConvBackwardDataEntry(g ConvGeom, dOut, w []float32, i, ci int) float64 {
	var s float64
	for ky := 0; ky < g.KH; ky++ {
		for kx := 0; kx < g.KW; kx++ {
			// Tap (ky, kx) of output pixel o reads i where o is i moved
			// back by the tap's offset, which g.pixel finds by symmetry.
			if o := g.pixel(i, g.KH-1-ky, g.KW-1-kx); o >= 0 {
				for co := 0; co < g.Cout; co++ {
					s += float64(dOut[o*g.Cout+co]) * float64(w[g.w(ky, kx, ci, co)])
				}
			}
		}
	}
	return s
}

// ConvBackwardFilterEntry returns the kernel gradient at (ky, kx, ci, co)
// for input in and output gradient dOut: a sum over every output pixel.
func ConvBackwardFilterEntry(g ConvGeom, in, dOut []float32, ky, kx, ci, co int) float64 {
	var s float64
	for o := 0; o < g.Batch*g.H*g.W; o++ {
		if i := g.pixel(o, ky, kx); i >= 0 {
			s += float64(in[i*g.Cin+ci]) * float64(dOut[o*g.Cout+co])
		}
	}
	return s
}

// ConvForward returns conv(in, w) (+ bias) (ReLU).
func ConvForward(g ConvGeom, in, w, bias []float32, relu bool) []float32 {
	out := ConvForward64(g, Float64s(in), Float64s(w), Float64s(bias), nil)
	if relu {
		out = ReLU64(out)
	}
	return toFloat32(out)
}

// ConvBackwardData returns the input gradient for output gradient dOut.
func ConvBackwardData(g ConvGeom, dOut, w []float32) []float32 {
	return toFloat32(ConvBackwardData64(g, Float64s(dOut), Float64s(w), nil))
}

// ConvBackwardFilter returns the kernel gradient for input in and output
// gradient dOut.
func ConvBackwardFilter(g ConvGeom, in, dOut []float32) []float32 {
	return toFloat32(ConvBackwardFilter64(g, Float64s(in), Float64s(dOut), nil))
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// Float64s is x in float64; nil stays nil.
func Float64s(x []float32) []float64 {
	if x == nil {
		return nil
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// ReLU returns max(0, x).
func ReLU(x []float32) []float32 {
	return toFloat32(ReLU64(Float64s(x)))
}

// ReLUBackward returns dy where the forward output y is positive, else 0.
func ReLUBackward(y, dy []float32) []float32 {
	return toFloat32(ReLUBackward64(Float64s(y), Float64s(dy)))
}

// poolWindows calls f for each window of 2x2, stride-2 "valid" pooling of
// an NHWC tensor (a trailing odd row or column is dropped): the index of
// its output and those of its four inputs, in row-major order.
func poolWindows(batch, h, w, c int, f func(out int, in [4]int)) {
	oh, ow := h/2, w/2
	for n := 0; n < batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for ch := 0; ch < c; ch++ {
					at := func(dy, dx int) int { return ((n*h+2*y+dy)*w+2*x+dx)*c + ch }
					f(((n*oh+y)*ow+x)*c+ch, [4]int{at(0, 0), at(0, 1), at(1, 0), at(1, 1)})
				}
			}
		}
	}
}

// MaxPool is 2x2, stride-2 "valid" max pooling of an NHWC tensor.
func MaxPool(in []float32, batch, h, w, c int) []float32 {
	out, _, _ := MaxPool64(Float64s(in), batch, h, w, c)
	return toFloat32(out)
}

// MaxPoolBackward routes each window's gradient to its first maximum in
// row-major order.
func MaxPoolBackward(in, dOut []float32, batch, h, w, c int) []float32 {
	_, from, _ := MaxPool64(Float64s(in), batch, h, w, c)
	return toFloat32(MaxPoolBackward64(from, Float64s(dOut), len(in)))
}

// AvgPool is 2x2, stride-2 "valid" average pooling of an NHWC tensor, the
// window summed in pairs as avgpool.comp does.
func AvgPool(in []float32, batch, h, w, c int) []float32 {
	out := make([]float32, batch*(h/2)*(w/2)*c)
	poolWindows(batch, h, w, c, func(o int, i [4]int) {
		out[o] = 0.25 * ((in[i[0]] + in[i[1]]) + (in[i[2]] + in[i[3]]))
	})
	return out
}

// AvgPoolBackward gives each input of a window a quarter of the window's
// output gradient, and 0 to a trailing row or column no window covers.
func AvgPoolBackward(dOut []float32, batch, h, w, c int) []float32 {
	return toFloat32(AvgPoolBackward64(Float64s(dOut), batch, h, w, c))
}

// Hash is the shaders' 32-bit integer hash (hash.glsl).
func Hash(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// DropoutMask says which of n elements dropout.comp keeps at (seed,
// step): those where the hash of (seed, step, i) is at least rate.
func DropoutMask(n int, rate float32, seed, step uint32) []bool {
	keep := make([]bool, n)
	stepHash := Hash(step ^ Hash(seed))
	for i := range keep {
		u := float32(Hash(uint32(i)^stepHash)>>8) * (1.0 / 16777216.0)
		keep[i] = u >= rate
	}
	return keep
}

// Dropout returns x/(1-rate), in float32, where the mask keeps an
// element, else 0, as dropout.comp does.
func Dropout(x []float32, rate float32, seed, step uint32) []float32 {
	y := make([]float32, len(x))
	for i, keep := range DropoutMask(len(x), rate, seed, step) {
		if keep {
			y[i] = x[i] / (1 - rate)
		}
	}
	return y
}

// SoftmaxXent returns, for the first valid rows of logits, the gradient
// of the mean cross-entropy (zero for the remaining rows) and per-row
// (loss, correct, argmax). A label outside 0..classes-1 is counted in
// badLabels and taken as classes-1.
func SoftmaxXent(logits []float32, labels []int, valid, classes int) (dz []float32, stats []float32, badLabels int) {
	return SmoothedSoftmaxXent(logits, labels, valid, classes, 0)
}

// SmoothedSoftmaxXent is SoftmaxXent with label smoothing e.
func SmoothedSoftmaxXent(logits []float32, labels []int, valid, classes int, e float64) (dz []float32, stats []float32, badLabels int) {
	d, loss, best := SmoothedSoftmaxXent64(Float64s(logits), labels, valid, classes, e, nil)
	stats = make([]float32, 3*len(loss))
	for s := range valid {
		label, bad := classOf(labels[s], classes)
		if bad {
			badLabels++
		}
		stats[3*s] = float32(loss[s])
		if best[s] == label {
			stats[3*s+1] = 1
		}
		stats[3*s+2] = float32(best[s])
	}
	return toFloat32(d), stats, badLabels
}

// ColSum returns the sums of the columns of a rows x cols matrix.
func ColSum(g []float32, rows, cols int) []float32 {
	return toFloat32(ColSum64(Float64s(g), rows, cols, nil))
}

// Adam applies one Keras 2.0 Adam update in place, with lr the
// bias-corrected rate, in float32 as adam.comp does.
func Adam(p, g, m, v []float32, lr, beta1, beta2, eps float32) {
	for i := range p {
		m[i] = beta1*m[i] + (1-beta1)*g[i]
		v[i] = beta2*v[i] + (1-beta2)*g[i]*g[i]
		p[i] -= lr * m[i] / (float32(math.Sqrt(float64(v[i]))) + eps)
	}
}

// BatchNorm is batch normalization of rows x C values (NHWC, a row per
// pixel) as Keras does it: statistics per channel over the first valid
// rows, the variance biased.
type BatchNorm struct {
	Rows, C, Valid int
	Eps, Momentum  float64
}

// Stats returns each channel's mean and biased variance over the valid
// rows.
func (b BatchNorm) Stats(x []float32) (mean, variance []float64) {
	return b.Stats64(Float64s(x), nil)
}

// Forward returns gamma (x - mean) / sqrt(variance + eps) + beta over every
// row, the padding included.
func (b BatchNorm) Forward(x, gamma, beta []float32, mean, variance []float64) []float32 {
	xhat, _ := b.Normalize64(Float64s(x), mean, variance, nil)
	return toFloat32(b.Forward64(xhat, Float64s(gamma), Float64s(beta), nil))
}

// Update returns a moving average after training step t (from 1) with
// the batch's values, as Keras 2.2's TensorFlow backend has it: a
// zero-debiased moving average, whose biased accumulator is moving (1 -
// momentum^(t-1)).
func (b BatchNorm) Update(moving []float32, batch []float64, t int) []float32 {
	out := make([]float32, len(moving))
	for c, m := range moving {
		biased := float64(m) * (1 - math.Pow(b.Momentum, float64(t-1)))
		biased -= (biased - batch[c]) * (1 - b.Momentum)
		out[c] = float32(biased / (1 - math.Pow(b.Momentum, float64(t))))
	}
	return out
}

// Unbiased returns the variances made unbiased as Keras 2.2 does before
// it updates the moving variance: times n / (n - 1 - eps), n the valid
// rows.
func (b BatchNorm) Unbiased(variance []float64) []float64 {
	n := float64(b.Valid)
	out := make([]float64, len(variance))
	for c, v := range variance {
		out[c] = v * n / (n - 1 - b.Eps)
	}
	return out
}

// Backward returns the gradients of gamma and beta and of the input, for
// output gradient dy, in training (batch statistics): the padding rows
// get no input gradient.
func (b BatchNorm) Backward(x, dy, gamma []float32, mean, variance []float64) (dGamma, dBeta, dx []float32) {
	xhat, invStd := b.Normalize64(Float64s(x), mean, variance, nil)
	g, bt, d := b.Backward64(xhat, invStd, Float64s(dy), Float64s(gamma), nil)
	return toFloat32(g), toFloat32(bt), toFloat32(d)
}

// Concat joins tensors of pixels pixels along the channel axis: xs[k]
// has cs[k] channels a pixel.
func Concat[F float32 | float64](xs [][]F, pixels int, cs []int) []F {
	wide := 0
	for _, c := range cs {
		wide += c
	}
	out := make([]F, pixels*wide)
	off := 0
	for k, x := range xs {
		for p := range pixels {
			copy(out[p*wide+off:p*wide+off+cs[k]], x[p*cs[k]:(p+1)*cs[k]])
		}
		off += cs[k]
	}
	return out
}

// Split is Concat's inverse: the channels of y, of pixels pixels, cut
// into tensors of cs channels.
func Split[F float32 | float64](y []F, pixels int, cs []int) [][]F {
	wide := 0
	for _, c := range cs {
		wide += c
	}
	var out [][]F
	off := 0
	for _, c := range cs {
		x := make([]F, pixels*c)
		for p := range pixels {
			copy(x[p*c:(p+1)*c], y[p*wide+off:p*wide+off+c])
		}
		out = append(out, x)
		off += c
	}
	return out
}

// ForwardReLU is Forward with a ReLU after it: batchnorm_relu.comp's
// normalization.
func (b BatchNorm) ForwardReLU(x, gamma, beta []float32, mean, variance []float64) []float32 {
	return ReLU(b.Forward(x, gamma, beta, mean, variance))
}

// BackwardReLU is Backward with a ReLU after it: the output gradient dy
// taken as 0 where the normalized value is not positive.
func (b BatchNorm) BackwardReLU(x, dy, gamma, beta []float32, mean, variance []float64) (dGamma, dBeta, dx []float32) {
	return b.Backward(x, ReLUBackward(b.Forward(x, gamma, beta, mean, variance), dy), gamma, mean, variance)
}

// AddReLU is max(x + y, 0), an add with a ReLU after it; its gradient is
// ReLUBackward's of the output, for each input.
func AddReLU(x, y []float32) []float32 { return ReLU(Add(x, y)) }

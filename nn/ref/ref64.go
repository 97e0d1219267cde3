package ref

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The float64 references compute a kernel's values exactly (to float64)
// or, given a Rounding, as float32 arithmetic might round them; the
// whole-network gradient check in nn composes them layer by layer.

// unit is float32's unit roundoff: one correctly rounded float32
// operation's result lies within unit |result| of the exact one.
const unit = 0x1p-24

// Rounding perturbs a reference's results as a float32 kernel's rounding
// might: each sum of n terms by sqrt(n) unit sum|terms| times a standard
// normal draw (the scale of a float32 sum's error in any order:
// sequential, tiled or split), each other operation by unit |result| times
// a draw for each rounding it allows. Run with one, a reference's result
// moves as far as float32 rounding, propagated through everything that
// follows, may move it, cancellations and batch normalization's
// amplification included: bounds propagated in the worst case instead
// come out hundreds of times larger than the gradients they bound. A nil
// Rounding rounds nothing.
type Rounding struct{ rng *rand.Rand }

// NewRounding returns a Rounding that draws from seed.
func NewRounding(seed uint64) *Rounding {
	return &Rounding{rand.New(rand.NewPCG(seed, 0x726f756e64))} // second word: "round"
}

// off is v moved by scale times a standard normal draw.
func (r *Rounding) off(v, scale float64) float64 {
	if r == nil {
		return v
	}
	return v + r.rng.NormFloat64()*scale
}

// sum is v, a sum of n terms whose absolute values add to terms, as a
// float32 sum might give it.
func (r *Rounding) sum(v, terms float64, n int) float64 {
	return r.off(v, math.Sqrt(float64(n))*unit*terms)
}

// ops is v, the result of operations that may round it by units units of
// it in all (an ulp is up to 2), as float32 arithmetic might give it.
func (r *Rounding) ops(v, units float64) float64 { return r.off(v, units*unit*math.Abs(v)) }

// sums accumulates sums of products and the sums of their absolute
// values, which their rounding scales with.
type sums struct{ v, terms []float64 }

func newSums(n int) sums { return sums{make([]float64, n), make([]float64, n)} }

func (s sums) add(t int, a, b float64) {
	s.v[t] += a * b
	s.terms[t] += math.Abs(a * b)
}

// done returns the sums, each of n terms, as r rounds them.
func (s sums) done(n int, r *Rounding) []float64 {
	for i, v := range s.v {
		s.v[i] = r.sum(v, s.terms[i], n)
	}
	return s.v
}

// BF16 is x rounded to the nearest bfloat16 (8 significant bits), ties to
// even, as the matrix kernels stage their operands (matrix_body.glsl's
// bf16Bits); a bfloat16 is an fp32's high 16 bits.
func BF16(x float32) float32 { return roundBits(x, 16) }

// F16 is x rounded to the nearest IEEE half (11 significant bits; below
// 2^-14 a multiple of 2^-24; from 65520 on, infinite), ties to even: how
// the fp16 matrix kernels stage their operands (packHalf2x16).
func F16(x float32) float32 {
	a := math.Abs(float64(x))
	switch {
	case a >= 65520:
		return float32(math.Copysign(math.Inf(1), float64(x)))
	case a < 1.0/(1<<14):
		return float32(math.RoundToEven(float64(x)*(1<<24)) / (1 << 24))
	}
	return roundBits(x, 13)
}

// TF32 is x rounded to the nearest TF32 (11 significant bits), ties to
// even: what NVIDIA's tensor cores multiply in PyTorch's default for
// convolutions.
func TF32(x float32) float32 { return roundBits(x, 13) }

// roundBits rounds x to nearest, ties to even, dropping its low bits of
// significand (NaN and infinities pass, a finite value may round to one).
func roundBits(x float32, bits uint) float32 {
	u := math.Float32bits(x)
	half := uint32(1)<<(bits-1) - 1
	u += half + (u>>bits)&1
	return math.Float32frombits(u >> bits << bits)
}

// Terms are the operand pairs whose products a GEMM-shaped kernel sums
// with each operand split into bf16Parts bf16 numbers
// (kernels.Precision.BF16Parts): none, a and b as they are; one, their
// bf16 roundings; two, the high parts hi = BF16(x) and low parts
// lo = BF16(x - hi) as hi*hi, hi*lo and lo*hi. A product is bilinear, so
// its reference is the sum of the references of the pairs.
func Terms(a, b []float32, bf16Parts int) [][2][]float32 { return TermsRounded(a, b, bf16Parts, BF16) }

// TermsRounded is Terms with the parts rounded by round: F16 where the
// matrix kernels stage fp16 (devices whose matrices take fp16 alone).
func TermsRounded(a, b []float32, bf16Parts int, round func(float32) float32) [][2][]float32 {
	hi := func(x []float32) []float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = round(v)
		}
		return y
	}
	lo := func(x, hi []float32) []float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = round(v - hi[i])
		}
		return y
	}
	switch bf16Parts {
	case 0:
		return [][2][]float32{{a, b}}
	case 1:
		return [][2][]float32{{hi(a), hi(b)}}
	case 2:
		ah, bh := hi(a), hi(b)
		return [][2][]float32{{ah, bh}, {ah, lo(b, bh)}, {lo(a, ah), bh}}
	}
	panic(fmt.Sprintf("ref.Terms: %d bf16 parts", bf16Parts))
}

// ConvForward64 is conv(x, w) + bias, without a bias where bias is nil.
func ConvForward64(g ConvGeom, x, w, bias []float64, r *Rounding) []float64 {
	s := newSums(g.Outputs() * g.Cout)
	g.tap(func(o, i, ky, kx int) {
		g.pairs(func(ci, co int) { s.add(o*g.Cout+co, x[i*g.Cin+ci], w[g.w(ky, kx, ci, co)]) })
	})
	terms := g.KH * g.KW * g.Cin / g.groups()
	if bias != nil {
		terms++
		for i := range s.v {
			s.add(i, bias[i%g.Cout], 1)
		}
	}
	return s.done(terms, r)
}

// ConvBackwardData64 is the input gradient for output gradient dOut.
func ConvBackwardData64(g ConvGeom, dOut, w []float64, r *Rounding) []float64 {
	s := newSums(g.Batch * g.H * g.W * g.Cin)
	g.tap(func(o, i, ky, kx int) {
		g.pairs(func(ci, co int) { s.add(i*g.Cin+ci, dOut[o*g.Cout+co], w[g.w(ky, kx, ci, co)]) })
	})
	return s.done(g.KH*g.KW*g.Cout/g.groups(), r)
}

// ConvBackwardFilter64 is the kernel gradient for input x and output
// gradient dOut.
func ConvBackwardFilter64(g ConvGeom, x, dOut []float64, r *Rounding) []float64 {
	s := newSums(g.KH * g.KW * g.Cin / g.groups() * g.Cout)
	g.tap(func(o, i, ky, kx int) {
		g.pairs(func(ci, co int) { s.add(g.w(ky, kx, ci, co), x[i*g.Cin+ci], dOut[o*g.Cout+co]) })
	})
	return s.done(g.Outputs(), r)
}

// ColSum64 is the sums of the columns of a rows x cols matrix.
func ColSum64(x []float64, rows, cols int, r *Rounding) []float64 {
	s := newSums(cols)
	for i := range rows * cols {
		s.add(i%cols, x[i], 1)
	}
	return s.done(rows, r)
}

// ReLU64 is max(0, x).
func ReLU64(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = max(v, 0)
	}
	return y
}

// ReLUBackward64 is dOut where the forward output y is positive, else 0.
func ReLUBackward64(y, dOut []float64) []float64 {
	dIn := make([]float64, len(dOut))
	for i, v := range y {
		if v > 0 {
			dIn[i] = dOut[i]
		}
	}
	return dIn
}

// MaxPool64 is 2x2, stride-2 "valid" max pooling of an NHWC tensor: each
// window's first maximum in row-major order; from says which input it is
// and margin how far it lies above the window's next largest value.
func MaxPool64(x []float64, batch, h, w, c int) (y []float64, from []int, margin []float64) {
	return MaxPoolWindows64(ConvGeom{Batch: batch, H: h, W: w, Cin: c, KH: 2, KW: 2, OH: h / 2, OW: w / 2, SH: 2, SW: 2}, x)
}

// MaxPoolBackward64 routes each window's gradient to the input from says,
// of an input of n values.
func MaxPoolBackward64(from []int, dOut []float64, n int) []float64 {
	dIn := make([]float64, n)
	for o, i := range from {
		dIn[i] = dOut[o]
	}
	return dIn
}

// AvgPool64 is 2x2, stride-2 "valid" average pooling of an NHWC tensor.
func AvgPool64(x []float64, batch, h, w, c int, r *Rounding) []float64 {
	s := newSums(batch * (h / 2) * (w / 2) * c)
	poolWindows(batch, h, w, c, func(o int, in [4]int) {
		for _, i := range in {
			s.add(o, x[i], 0.25)
		}
	})
	return s.done(4, r)
}

// AvgPoolBackward64 gives each input of a window a quarter of the
// window's output gradient, and 0 to a trailing row or column no window
// covers.
func AvgPoolBackward64(dOut []float64, batch, h, w, c int) []float64 {
	dIn := make([]float64, batch*h*w*c)
	poolWindows(batch, h, w, c, func(o int, in [4]int) {
		for _, i := range in {
			dIn[i] = 0.25 * dOut[o]
		}
	})
	return dIn
}

// Dropout64 is x/(1-rate) where the mask of (seed, step) keeps an element,
// else 0: forward and backward alike.
func Dropout64(x []float64, rate float32, seed, step uint32, r *Rounding) []float64 {
	y := make([]float64, len(x))
	for i, keep := range DropoutMask(len(x), rate, seed, step) {
		if keep {
			y[i] = r.ops(x[i]/(1-float64(rate)), 2) // 1 - rate, and the quotient
		}
	}
	return y
}

// SoftmaxXent64 returns, for the first valid rows of logits, the gradient
// of the mean cross-entropy, each row's loss and its argmax (the first
// maximum); the loss and gradient of the remaining rows are zero. A label
// outside 0..classes-1 is taken as classes-1.
func SoftmaxXent64(logits []float64, labels []int, valid, classes int, r *Rounding) (dz, loss []float64, best []int) {
	return SmoothedSoftmaxXent64(logits, labels, valid, classes, 0, r)
}

// SmoothedSoftmaxXent64 is SoftmaxXent64 with label smoothing e: the
// target is 1 - e + e/classes at the label and e/classes elsewhere.
func SmoothedSoftmaxXent64(logits []float64, labels []int, valid, classes int, e float64, r *Rounding) (dz, loss []float64, best []int) {
	rows := len(logits) / classes
	dz, loss, best = make([]float64, len(logits)), make([]float64, rows), make([]int, rows)
	n := float64(valid)
	for s := range valid {
		z := logits[s*classes : (s+1)*classes]
		label, _ := classOf(labels[s], classes)
		for j := range z {
			if z[j] > z[best[s]] {
				best[s] = j
			}
		}
		// Vulkan allows exp(x) 3 + 2|x| ulp, an ulp up to 2 units.
		exps := make([]float64, classes)
		var sum float64
		for j := range z {
			x := r.ops(z[j]-z[best[s]], 1)
			exps[j] = r.ops(math.Exp(x), 2*(3+2*math.Abs(x)))
			sum += exps[j]
		}
		sum = r.sum(sum, sum, classes)
		inv := r.ops(1/(sum*n), 2)
		var spread float64 // sum_j (z_j - max z)
		for j := range z {
			g := r.ops(exps[j]*inv, 1)
			target := e / float64(classes)
			if j == label {
				target += 1 - e
			}
			if target != 0 {
				g = r.ops(g-target/n, 2)
			}
			dz[s*classes+j] = g
			spread += z[j] - z[best[s]]
		}
		// Vulkan's log is within 2^-21 on [0.5, 2], else 3 ulp.
		logSum := r.off(math.Log(sum), max(0x1p-21, 6*unit*math.Log(sum)))
		loss[s] = r.ops(logSum-r.ops((1-e)*(z[label]-z[best[s]]), 1), 1) - e/float64(classes)*spread
	}
	return dz, loss, best
}

// classOf is label as the softmax kernel takes it: a label outside
// 0..classes-1 is classes-1, and bad.
func classOf(label, classes int) (class int, bad bool) {
	if label < 0 || label >= classes {
		return classes - 1, true
	}
	return label, false
}

// Stats64 returns each channel's mean and biased variance over the valid
// rows.
func (b BatchNorm) Stats64(x []float64, r *Rounding) (mean, variance []float64) {
	n := float64(b.Valid)
	m := newSums(b.C)
	for i := range b.Valid * b.C {
		m.add(i%b.C, x[i], 1/n)
	}
	mean = m.done(b.Valid, r)
	v := newSums(b.C)
	for i := range b.Valid * b.C {
		d := r.ops(x[i]-mean[i%b.C], 1)
		v.add(i%b.C, d, d/n)
	}
	return mean, v.done(b.Valid, r)
}

// Normalize64 returns xhat = (x - mean) / sqrt(variance + eps) and, per
// channel, 1 / sqrt(variance + eps), which the forward and backward
// passes share.
func (b BatchNorm) Normalize64(x, mean, variance []float64, r *Rounding) (xhat, invStd []float64) {
	invStd = make([]float64, b.C)
	for c, v := range variance {
		// The sum, the square root (2 ulp) and the quotient (2.5 ulp).
		invStd[c] = r.ops(1/math.Sqrt(v+b.Eps), 12)
	}
	xhat = make([]float64, len(x))
	for i, v := range x {
		c := i % b.C
		xhat[i] = r.ops(r.ops(v-mean[c], 1)*invStd[c], 1)
	}
	return xhat, invStd
}

// Forward64 is gamma xhat + beta over every row, the padding included.
func (b BatchNorm) Forward64(xhat, gamma, beta []float64, r *Rounding) []float64 {
	y := make([]float64, len(xhat))
	for i, v := range xhat {
		c := i % b.C
		y[i] = r.sum(gamma[c]*v+beta[c], math.Abs(gamma[c]*v)+math.Abs(beta[c]), 2)
	}
	return y
}

// Backward64 returns the gradients of gamma and beta and of the input,
// for output gradient dy, in training (batch statistics): the padding
// rows get no input gradient.
func (b BatchNorm) Backward64(xhat, invStd, dy, gamma []float64, r *Rounding) (dGamma, dBeta, dx []float64) {
	sdyx, sdy := newSums(b.C), newSums(b.C)
	for i := range b.Valid * b.C {
		sdyx.add(i%b.C, dy[i], xhat[i])
		sdy.add(i%b.C, dy[i], 1)
	}
	dGamma, dBeta = sdyx.done(b.Valid, r), sdy.done(b.Valid, r)
	n := float64(b.Valid)
	dx = make([]float64, len(xhat))
	for i := range b.Valid * b.C {
		c := i % b.C
		shift := r.ops((dBeta[c]+r.ops(xhat[i]*dGamma[c], 1))/n, 2)
		dx[i] = r.ops(gamma[c]*invStd[c]*r.ops(dy[i]-shift, 1), 2)
	}
	return dGamma, dBeta, dx
}

// Add64 is x + y, each sum a float32 addition's as r rounds it.
func Add64(x, y []float64, r *Rounding) []float64 {
	out := make([]float64, len(x))
	for i := range out {
		out[i] = r.ops(x[i]+y[i], 1)
	}
	return out
}

// GlobalAvgPool64 is the mean of each image's pixels, channel by channel.
func GlobalAvgPool64(x []float64, batch, pixels, c int, r *Rounding) []float64 {
	s := newSums(batch * c)
	for i, v := range x {
		s.add(i/(pixels*c)*c+i%c, v, 1)
	}
	out := s.done(pixels, r)
	for i := range out {
		out[i] = r.ops(out[i]/float64(pixels), 1)
	}
	return out
}

// GlobalAvgPoolBackward64 spreads each output gradient evenly over its
// image's pixels.
func GlobalAvgPoolBackward64(dy []float64, batch, pixels, c int, r *Rounding) []float64 {
	out := make([]float64, batch*pixels*c)
	for i := range out {
		out[i] = r.ops(dy[i/(pixels*c)*c+i%c]/float64(pixels), 1)
	}
	return out
}

package ref

import (
	"fmt"
	"math"
	"slices"
)

// Activation is an element-wise activation function by its name in
// model.json, with alpha: leaky_relu's slope, elu's scale.
type Activation struct {
	Name  string
	Alpha float64
}

// SELU's constants (Klambauer et al. 2017).
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
	geluC     = 0.7978845608028654 // sqrt(2 / pi)
	geluK     = 0.044715
)

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// phi is the standard normal distribution function.
func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// F is the activation's value at x.
func (a Activation) F(x float64) float64 {
	switch a.Name {
	case "relu":
		return max(x, 0)
	case "relu6":
		return min(max(x, 0), 6)
	case "leaky_relu":
		return a.pieces(x, x, a.Alpha*x)
	case "elu":
		return a.pieces(x, x, a.Alpha*math.Expm1(x))
	case "selu":
		return seluScale * a.pieces(x, x, seluAlpha*math.Expm1(x))
	case "sigmoid":
		return sigmoid(x)
	case "hard_sigmoid":
		return min(max(0.2*x+0.5, 0), 1)
	case "hard_sigmoid_keras3":
		return min(max(x+3, 0), 6) / 6
	case "tanh":
		return math.Tanh(x)
	case "softplus":
		return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
	case "softsign":
		return x / (1 + math.Abs(x))
	case "swish", "silu":
		return x * sigmoid(x)
	case "gelu":
		return x * phi(x)
	case "gelu_tanh":
		return 0.5 * x * (1 + math.Tanh(geluC*(x+geluK*x*x*x)))
	}
	panic(fmt.Sprintf("ref: no activation %q", a.Name))
}

// DF is the activation's derivative at x; at a kink, the derivative on
// its right where x > 0 would hold on the kink's right, as the kernel and
// PyTorch take it (ReLU's is 0 at 0).
func (a Activation) DF(x float64) float64 {
	switch a.Name {
	case "relu":
		return a.pieces(x, 1, 0)
	case "relu6":
		return float64(btoi(x > 0 && x < 6))
	case "leaky_relu":
		return a.pieces(x, 1, a.Alpha)
	case "elu":
		return a.pieces(x, 1, a.Alpha*math.Exp(x))
	case "selu":
		return seluScale * a.pieces(x, 1, seluAlpha*math.Exp(x))
	case "sigmoid":
		s := sigmoid(x)
		return s * (1 - s)
	case "hard_sigmoid":
		return 0.2 * float64(btoi(x > -2.5 && x < 2.5))
	case "hard_sigmoid_keras3":
		return float64(btoi(x > -3 && x < 3)) / 6
	case "tanh":
		t := math.Tanh(x)
		return 1 - t*t
	case "softplus":
		return sigmoid(x)
	case "softsign":
		d := 1 + math.Abs(x)
		return 1 / (d * d)
	case "swish", "silu":
		s := sigmoid(x)
		return s + x*s*(1-s)
	case "gelu":
		return phi(x) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
	case "gelu_tanh":
		t := math.Tanh(geluC * (x + geluK*x*x*x))
		return 0.5*(1+t) + 0.5*x*(1-t*t)*geluC*(1+3*geluK*x*x)
	}
	panic(fmt.Sprintf("ref: no activation %q", a.Name))
}

// pieces is pos where x > 0, else neg.
func (a Activation) pieces(x, pos, neg float64) float64 {
	if x > 0 {
		return pos
	}
	return neg
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Kinks are the inputs where the activation or one of its first two
// derivatives jumps: a finite difference across one is off.
func (a Activation) Kinks() []float64 {
	switch a.Name {
	case "relu", "leaky_relu", "elu", "selu", "softsign":
		return []float64{0}
	case "relu6":
		return []float64{0, 6}
	case "hard_sigmoid":
		return []float64{-2.5, 2.5}
	case "hard_sigmoid_keras3":
		return []float64{-3, 3}
	}
	return nil
}

// Piece is which of the pieces between kinks x lies on, and how far it
// lies from the nearest kink (+Inf without one).
func (a Activation) Piece(x float64) (int, float64) {
	kinks := a.Kinks()
	piece, margin := 0, math.Inf(1)
	for _, k := range kinks {
		piece += btoi(x > k)
		margin = min(margin, math.Abs(x-k))
	}
	return piece, margin
}

// linear says the activation is linear on each piece: a float32 kernel
// rounds it as one or two operations, where the others evaluate
// transcendental functions whose error is a few units of their result
// or, where that is near 0, of 1.
func (a Activation) linear() bool {
	return slices.Contains([]string{"relu", "relu6", "leaky_relu", "hard_sigmoid", "hard_sigmoid_keras3"}, a.Name)
}

// activationUnits bounds how many units of (|result| + 1) a float32
// kernel of a transcendental activation may be off by.
const activationUnits = 8

// Forward64 is the activation of every value of x.
func (a Activation) Forward64(x []float64, r *Rounding) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = a.round(a.F(v), 1, r)
	}
	return y
}

// Backward64 is the input gradient dy f'(x), x the forward input.
func (a Activation) Backward64(x, dy []float64, r *Rounding) []float64 {
	dx := make([]float64, len(x))
	for i, v := range x {
		dx[i] = a.round(dy[i]*a.DF(v), math.Abs(dy[i]), r)
	}
	return dx
}

// round is v as a float32 kernel might round it, scale the size of 1 in
// the transcendental kernels' error.
func (a Activation) round(v, scale float64, r *Rounding) float64 {
	switch {
	case a.Name == "relu":
		return v
	case a.linear():
		return r.ops(v, 2)
	}
	return r.off(v, activationUnits*unit*(math.Abs(v)+scale))
}

// Forward is the activation of x, rounded to float32.
func (a Activation) Forward(x []float32) []float32 { return toFloat32(a.Forward64(Float64s(x), nil)) }

// Backward is the input gradient dy f'(x), rounded to float32.
func (a Activation) Backward(x, dy []float32) []float32 {
	return toFloat32(a.Backward64(Float64s(x), Float64s(dy), nil))
}

package ref

import (
	"math"
	"testing"
)

// F16 rounds as IEEE half does: to 11 significant bits, ties to even; to
// multiples of 2^-24 below 2^-14; to infinity from 65520 on.
func TestF16RoundsAsHalf(t *testing.T) {
	for _, tc := range []struct{ x, want float32 }{
		{1 + 1.0/(1<<11), 1},              // a tie: to the even 1
		{1 + 3.0/(1<<11), 1 + 1.0/(1<<9)}, // a tie: to the even 1+2^-9
		{1 + 1.0/(1<<11) + 1.0/(1<<20), 1 + 1.0/(1<<10)},
		{-0.1, -0.0999755859375},
		{65519, 65504},
		{65520, float32(math.Inf(1))},
		{1.0 / (1 << 25), 0},               // half the least subnormal: to 0
		{3.0 / (1 << 25), 1.0 / (1 << 23)}, // 1.5 subnormal steps: to 2
		{1e-5, 168.0 / (1 << 24)},
	} {
		if got := F16(tc.x); got != tc.want {
			t.Errorf("F16(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
}

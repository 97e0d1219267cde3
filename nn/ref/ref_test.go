package ref

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The convolution's entries are the whole references' values, entry by
// entry, on a geometry with padding on every side and a non-square kernel.
func TestConvEntriesAreTheWholeReferences(t *testing.T) {
	g := ConvGeom{Batch: 2, H: 5, W: 7, Cin: 3, Cout: 4, KH: 3, KW: 5}
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = 2*rng.Float32() - 1
		}
		return x
	}
	pixels := g.Batch * g.H * g.W
	in, w, dOut := random(pixels*g.Cin), random(g.KH*g.KW*g.Cin*g.Cout), random(pixels*g.Cout)
	check := func(what string, whole []float64, entry func(e int) float64) {
		t.Helper()
		for e, want := range whole {
			if got := entry(e); math.Abs(got-want) > 1e-12 {
				t.Fatalf("%s: entry %d is %g, the whole reference's %g", what, e, got, want)
			}
		}
	}
	check("forward", ConvForward64(g, Float64s(in), Float64s(w), nil, nil), func(e int) float64 {
		return ConvForwardEntry(g, in, w, e/g.Cout, e%g.Cout)
	})
	check("backward data", ConvBackwardData64(g, Float64s(dOut), Float64s(w), nil), func(e int) float64 {
		return ConvBackwardDataEntry(g, dOut, w, e/g.Cin, e%g.Cin)
	})
	check("backward filter", ConvBackwardFilter64(g, Float64s(in), Float64s(dOut), nil), func(e int) float64 {
		row := e / g.Cout
		return ConvBackwardFilterEntry(g, in, dOut, row/g.Cin/g.KW, row/g.Cin%g.KW, row%g.Cin, e%g.Cout)
	})
}

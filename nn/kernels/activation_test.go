package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// activationBench is the activation kernel's workbench, which drives
// TestActivationMatchesReference and BenchmarkActivation: each instance
// with its alpha, its tolerance against the float64 reference in units of
// float32 (2^-24) of |f(x)| + 1 forward and of |dx| + |dy| backward, and
// its FLOPs an element forward and backward, counting exp, log and a
// division as one each.
var activationBench = []struct {
	act   Activation
	alpha float32
	tol   float64
	flops [2]float64
}{
	{ActReLU, 0, 0, [2]float64{1, 1}},
	{ActReLU6, 0, 0, [2]float64{2, 2}},
	{ActLeakyReLU, 0.3, 1, [2]float64{2, 2}},
	{ActELU, 1, 4, [2]float64{8, 4}},
	{ActELU, 0.7, 4, [2]float64{8, 4}},
	{ActSELU, 0, 4, [2]float64{9, 5}},
	{ActSigmoid, 0, 4, [2]float64{5, 7}},
	{ActHardSigmoid, 0, 2, [2]float64{4, 3}},
	{ActHardSigmoidKeras3, 0, 4, [2]float64{4, 3}},
	{ActTanh, 0, 4, [2]float64{8, 10}},
	{ActSoftplus, 0, 4, [2]float64{12, 7}},
	{ActSoftsign, 0, 2, [2]float64{3, 4}},
	{ActSwish, 0, 4, [2]float64{6, 10}},
	{ActGELU, 0, 6, [2]float64{30, 36}},
	{ActGELUTanh, 0, 4, [2]float64{16, 26}},
}

// activationLengths are odd lengths, the last two in dispatches of 1,000
// elements within a lowered storage-buffer range.
var activationLengths = []struct {
	n     int
	limit int64
}{{1, 0}, {7, 0}, {10007, 0}, {2501, 4 * 1000}}

// activationInputs are n inputs: the kinks, values near 0 and far out
// (where a careless formula overflows or cancels), then uniform in
// [-8, 8].
func activationInputs(rng *rand.Rand, n int) []float32 {
	special := []float32{0, 6, -2.5, 2.5, -3, 3, 1e-4, -1e-4, 0.1, -0.1, 0.124, -0.126, 30, -30, 100, -100, 1e-30, -87, 88}
	x := make([]float32, n)
	for i := range x {
		x[i] = 16*rng.Float32() - 8
		if i < len(special) {
			x[i] = special[i]
		}
	}
	return x
}

func (a Activation) ref(alpha float32) ref.Activation {
	return ref.Activation{Name: a.String(), Alpha: float64(alpha)}
}

func TestActivationMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(21, 22))
	t.Cleanup(func() { maxRangeOverride = 0 })
	covered := map[Activation]bool{}
	for _, w := range activationBench {
		covered[w.act] = true
		r := w.act.ref(w.alpha)
		for _, s := range activationLengths {
			t.Run(fmt.Sprintf("%v alpha %g/%d", w.act, w.alpha, s.n), func(t *testing.T) {
				maxRangeOverride = s.limit
				x, dy := activationInputs(rng, s.n), randomFloats(rng, s.n)
				xB, yB, dyB := upload(t, ctx, x), upload(t, ctx, make([]float32, s.n)), upload(t, ctx, dy)
				run(t, ctx, func(rec *vk.Recording) error {
					return ActivateBackward(ctx, rec, w.act, w.alpha, vk.Whole(xB), vk.Whole(dyB), s.n)
				})
				run(t, ctx, func(rec *vk.Recording) error {
					return Activate(ctx, rec, w.act, w.alpha, vk.Whole(xB), vk.Whole(yB), s.n)
				})
				y64, dx64 := r.Forward64(ref.Float64s(x), nil), r.Backward64(ref.Float64s(x), ref.Float64s(dy), nil)
				ones := make([]float64, s.n)
				for i := range ones {
					ones[i] = 1
				}
				expectUnits(t, "forward", x, download(t, yB, s.n), y64, ones, w.tol)
				expectUnits(t, "backward", x, download(t, dyB, s.n), dx64, ref.Float64s(dy), w.tol)
			})
		}
	}
	for _, a := range Activations() {
		if !covered[a] {
			t.Errorf("%v is not in activationBench", a)
		}
	}
}

// expectUnits fails where got lies more than tol units of |want| + |scale|
// from want, and logs the largest error in those units.
func expectUnits(t *testing.T, what string, x, got []float32, want, scale []float64, tol float64) {
	t.Helper()
	const unit = 0x1p-24
	worst := 0.0
	for i, w := range want {
		units := math.Abs(float64(got[i])-w) / (unit * (math.Abs(w) + math.Abs(scale[i])))
		if !(units <= tol) {
			t.Fatalf("%s at x = %g: %g, want %.9g (%.3g units, at most %g)", what, x[i], got[i], w, units, tol)
		}
		worst = max(worst, units)
	}
	if len(want) > 1000 {
		t.Logf("%s: at most %.3g units off", what, worst)
	}
}

// TestActivationNames: activation.comp's ACT_* constants are the values of
// the Activation constants of the same names.
func TestActivationNames(t *testing.T) {
	text, err := os.ReadFile("../../shaders/activation.comp")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`const uint ACT_(\w+) = (\d+);`).FindAllStringSubmatch(string(text), -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) != int(activationCount) {
		t.Errorf("activation.comp declares %d activations, Go %d", len(got), activationCount)
	}
	for _, a := range Activations() {
		upper := strings.ToUpper(a.String())
		if v, ok := got[upper]; !ok || v != int(a) {
			t.Errorf("activation.comp's ACT_%s is %d (declared: %v), Go's %v is %d", upper, v, ok, a, int(a))
		}
	}
}

// BenchmarkActivation times each instance of the workbench forward and
// backward over 2^22 elements: go test ./nn/kernels -run '^$' -bench
// Activation.
func BenchmarkActivation(b *testing.B) {
	ctx := vktest.Open(b)
	const n = 1 << 22
	rng := rand.New(rand.NewPCG(23, 24))
	var bufs [3]*vk.Buffer
	for i := range bufs {
		buf, err := ctx.NewBuffer(4 * n)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(buf.Close)
		if err := buf.WriteFloat32(0, activationInputs(rng, n)); err != nil {
			b.Fatal(err)
		}
		bufs[i] = buf
	}
	x, y, dy := vk.Whole(bufs[0]), vk.Whole(bufs[1]), vk.Whole(bufs[2])
	for _, w := range activationBench {
		for mode, pass := range []string{"forward", "backward"} {
			b.Run(fmt.Sprintf("%v/alpha=%g/%s", w.act, w.alpha, pass), func(b *testing.B) {
				rec, err := ctx.NewRecording()
				if err != nil {
					b.Fatal(err)
				}
				defer rec.Close()
				if mode == 0 {
					err = Activate(ctx, rec, w.act, w.alpha, x, y, n)
				} else {
					err = ActivateBackward(ctx, rec, w.act, w.alpha, x, dy, n)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(4 * n * int64(2+mode)) // read x (and dy), write y
				b.ResetTimer()
				for range b.N {
					if err := rec.Run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(w.flops[mode]*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

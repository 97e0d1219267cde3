package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

func randomFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*rng.Float32() - 1
	}
	return x
}

// upload makes a device buffer holding data.
func upload(t testing.TB, ctx *vk.Context, data []float32) *vk.Buffer {
	t.Helper()
	b, err := ctx.NewBuffer(int64(4 * max(len(data), 1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.WriteFloat32(0, data); err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t *testing.T, b *vk.Buffer, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := b.ReadFloat32(0, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// run records with record, runs once and checks validation.
func run(t *testing.T, ctx *vk.Context, record func(rec *vk.Recording) error) {
	t.Helper()
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if err := record(rec); err != nil {
		t.Fatal(err)
	}
	if err := rec.Run(); err != nil {
		t.Fatal(err)
	}
	vktest.Check(t, ctx)
}

// maxAbsDiff returns the largest |got-want| and where it is.
func maxAbsDiff(got, want []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

// gemmShapes are odd shapes: partial tiles, lengths of one. The warp
// variants run those whose lengths read by vec4s are multiples of 4
// (Check), the last three among them.
var gemmShapes = [][3]int{{1, 1, 1}, {17, 33, 65}, {1000, 1, 999}, {1, 1000, 7}, {64, 64, 64}, {70, 129, 33}, {33, 68, 12}, {36, 68, 20}, {132, 260, 36}, {4, 1000, 996}}

// runsCases counts the cases a variant (at a precision) ran of those a
// test tried, and fails the test where one ran none.
type runsCases map[string]int

func (r runsCases) add(ch Choice, err error) bool {
	name := ch.Variant.label(ch.Precision)
	if _, ok := r[name]; !ok {
		r[name] = 0
	}
	if err != nil {
		return false
	}
	r[name]++
	return true
}

func (r runsCases) check(t *testing.T) {
	t.Helper()
	for name, n := range r {
		if n == 0 {
			t.Errorf("variant %s ran none of the cases", name)
		}
	}
}

// precisionsOf are the precisions a variant runs: bf16 and bf16x3 on the
// matrix variants (emulated on lavapipe), fp32 on the others.
func precisionsOf(v GemmVariant) []Precision {
	if v.Style == Matrix {
		return []Precision{BF16, BF16x3}
	}
	return []Precision{FP32}
}

// usableChoices are the variants the device runs, each at its
// precisions, unsplit.
func usableChoices(t *testing.T, info vk.DeviceInfo) []Choice {
	var out []Choice
	for _, v := range GemmVariants {
		for _, prec := range precisionsOf(v) {
			if err := v.usable(info, prec, false); err != nil {
				t.Logf("skip %v", err)
				continue
			}
			out = append(out, Choice{Variant: v, Split: 1, Precision: prec})
		}
	}
	return out
}

// matrixShapes are the odd shapes of gemmShapes the matrix variants run
// (the emulation is slow on lavapipe): partial tiles and fragments, a k
// shorter than a K-step.
var matrixShapes = [][3]int{{33, 68, 12}, {36, 68, 20}, {132, 260, 36}}

func TestGemmMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ran := runsCases{}
	for _, ch := range usableChoices(t, ctx.Info) {
		shapes := gemmShapes
		if ch.Variant.Style == Matrix {
			shapes = matrixShapes
		}
		for _, shape := range shapes {
			m, n, k := shape[0], shape[1], shape[2]
			for _, trans := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, epi := range [][2]bool{{false, false}, {true, true}} {
					g := Gemm{M: m, N: n, K: k, TransA: trans[0], TransB: trans[1], Bias: epi[0], ReLU: epi[1]}.With(ch).(Gemm)
					if !ran.add(ch, Check(ctx.Info, g, g.Choice())) {
						continue
					}
					t.Run(fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v,bias+relu=%v", ch, m, n, k, trans[0], trans[1], epi[0]), func(t *testing.T) {
						checkGemm(t, ctx, rng, g)
					})
				}
			}
		}
	}
	ran.check(t)
}

// TestGemmSplitKMatchesReference sums k in several workgroup layers, as
// the dense layers do on GPUs, with every warp and matrix variant,
// transposes, bias and ReLU (applied once, after the layers are added).
func TestGemmSplitKMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	ran := runsCases{}
	for _, ch := range usableChoices(t, ctx.Info) {
		if !ch.Variant.staged() {
			continue
		}
		for _, shape := range [][4]int{{64, 40, 1000, 3}, {17, 36, 652, 2}, {8, 72, 1300, 7}} {
			m, n, k, split := shape[0], shape[1], shape[2], shape[3]
			for _, trans := range [][2]bool{{false, false}, {true, true}} {
				g := Gemm{M: m, N: n, K: k, TransA: trans[0], TransB: trans[1], Bias: true, ReLU: true, Variant: ch.Variant, Precision: ch.Precision, Split: split}
				if !ran.add(ch, Check(ctx.Info, g, g.Choice())) {
					continue
				}
				if g.layers() < 2 {
					t.Fatalf("%dx%dx%d split %d runs in %d layer", m, n, k, split, g.layers())
				}
				t.Run(fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v", g.Choice(), m, n, k, trans[0], trans[1]), func(t *testing.T) {
					checkGemm(t, ctx, rng, g)
				})
			}
		}
	}
	if len(ran) < 5 {
		t.Errorf("%d warp and matrix variants ran; lavapipe must run all of them", len(ran))
	}
	ran.check(t)
}

// roundingOf is how a device rounds the parts of its products at prec
// (ref.TermsRounded): the fp16 matrix instance to fp16, the others to
// bf16.
func roundingOf(info vk.DeviceInfo, prec Precision) func(float32) float32 {
	if inst, err := instance(info); err == nil && prec.matrix() && inst.suffix == "f16" {
		return ref.F16
	}
	return ref.BF16
}

// sumTolerance bounds the float32 rounding of sums of terms products of
// values of at most 1 (growing at most linearly with their count).
func sumTolerance(terms int) float64 { return 4*float64(terms)/(1<<23) + 1e-6 }

// checkGemm runs g on random operands in [-1, 1] and compares it with the
// float64 reference of the products its precision sums (ref.Terms), to
// within float32 summation.
func checkGemm(t *testing.T, ctx *vk.Context, rng *rand.Rand, g Gemm) {
	a := randomFloats(rng, g.M*g.K)
	b := randomFloats(rng, g.K*g.N)
	var bias []float32
	if g.Bias {
		bias = randomFloats(rng, g.N)
	}
	terms := ref.TermsRounded(a, b, g.Precision.BF16Parts(), roundingOf(ctx.Info, g.Precision))
	want := ref.GemmTerms(g.M, g.N, g.K, terms, g.TransA, g.TransB, bias, g.ReLU)
	ab, bb := upload(t, ctx, a), upload(t, ctx, b)
	cb := upload(t, ctx, randomFloats(rng, g.M*g.N)) // garbage that must be overwritten
	scratch := upload(t, ctx, make([]float32, max(g.Scratch(ctx.Info), 1)))
	var biasRange vk.Range
	if g.Bias {
		biasRange = vk.Whole(upload(t, ctx, bias))
	}
	run(t, ctx, func(rec *vk.Recording) error {
		return g.Record(ctx, rec, GemmArgs{A: vk.Whole(ab), B: vk.Whole(bb), C: vk.Whole(cb), Bias: biasRange, Scratch: vk.Whole(scratch)})
	})
	got := download(t, cb, g.M*g.N)
	if d, at := maxAbsDiff(got, want); d > sumTolerance(len(terms)*g.K) {
		t.Fatalf("max |error| %.3g at C[%d][%d] (got %g, want %g), tolerance %.3g", d, at/g.N, at%g.N, got[at], want[at], sumTolerance(len(terms)*g.K))
	}
}

func TestGemmSplitsRowsPastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 16 << 10 // 16 KiB: a 200x40 C spans three bands
	t.Cleanup(func() { maxRangeOverride = 0 })
	rng := rand.New(rand.NewPCG(3, 4))
	g := Gemm{M: 200, N: 40, K: 36, Bias: true}
	// A matrix variant of 64 rows the device runs (coopmat64, or on 8-lane
	// matrices coopmat64x16): a band of 128 passes 16 KiB.
	var m64 GemmVariant
	for _, v := range GemmVariants {
		if v.Style == Matrix && v.BM == 64 && v.usable(ctx.Info, BF16x3, false) == nil {
			m64 = v
			break
		}
	}
	for _, ch := range []Choice{Default(ctx.Info, g, FP32), {Variant: m64, Split: 1, Precision: BF16}, {Variant: m64, Split: 1, Precision: BF16x3}} {
		g := g.With(ch).(Gemm)
		t.Run(ch.String(), func(t *testing.T) { checkGemm(t, ctx, rng, g) })
	}
}

// TestGemmSlicesKPastStorageRange runs a product shaped like a dense
// layer's kernel gradient (A transposed) whose A passes a lowered
// storage-buffer range, in slices of k whose products are added in order:
// with every variant, and split over k within each slice by the warp and
// matrix variants.
func TestGemmSlicesKPastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 16 << 10 // A's 48,000 bytes in three slices of k
	t.Cleanup(func() { maxRangeOverride = 0 })
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ch := range usableChoices(t, ctx.Info) {
		for _, split := range []int{1, 2} {
			g := Gemm{M: 40, N: 12, K: 300, TransA: true, Variant: ch.Variant, Precision: ch.Precision, Split: split}
			if Check(ctx.Info, g, g.Choice()) != nil {
				continue
			}
			if kPer, err := g.kSlice(ctx.Info); err != nil || kPer != 102 {
				t.Fatalf("%s: slices of %d (%v), want 102", g.Choice(), kPer, err)
			}
			t.Run(g.Choice().String(), func(t *testing.T) { checkGemm(t, ctx, rng, g) })
		}
	}
	// Slices of k are added after the fact: no room for a bias or ReLU.
	g := Gemm{M: 40, N: 12, K: 300, TransA: true, Bias: true}
	var re *RangeError
	if _, err := g.kSlice(ctx.Info); !errors.As(err, &re) {
		t.Errorf("with a bias: %v, want a RangeError", err)
	}
}

func TestGemmRejectsBadShapes(t *testing.T) {
	ctx := vktest.Open(t)
	small := upload(t, ctx, make([]float32, 10))
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	v := Default(ctx.Info, Gemm{M: 4, N: 4, K: 4}, FP32).Variant
	r := vk.Whole(small)
	if err := (Gemm{M: 4, N: 4, K: 4, Variant: v}).Record(ctx, rec, GemmArgs{A: r, B: r, C: r, Scratch: r}); err == nil {
		t.Fatal("a 4x4x4 product into 10 floats was accepted")
	}
	// A range is as short as its size says, or as its buffer past the
	// offset, whichever is less.
	big := upload(t, ctx, make([]float32, 64))
	for _, r := range []vk.Range{{Buf: big, Size: 4 * 10}, {Buf: small, Size: 4 * 16}, {Buf: big, Offset: 4 * 50}} {
		if err := (Gemm{M: 4, N: 4, K: 4, Variant: v}).Record(ctx, rec, GemmArgs{A: r, B: r, C: r, Scratch: r}); err == nil {
			t.Errorf("a 4x4x4 product into %d bytes from %d of a %d-byte buffer was accepted", r.Size, r.Offset, r.Buf.Size())
		}
	}
	if err := (Gemm{M: 0, N: 4, K: 4, Variant: v}).Record(ctx, rec, GemmArgs{A: r, B: r, C: r, Scratch: r}); err == nil {
		t.Fatal("M = 0 was accepted")
	}
	if _, err := GemmVariantByName("nope"); err == nil {
		t.Fatal("unknown variant accepted")
	}
}

func TestElementwiseMatchesReference(t *testing.T) {
	for _, staging := range []bool{false, true} {
		t.Run(fmt.Sprintf("staging=%v", staging), func(t *testing.T) {
			ctx := vktest.OpenWith(t, vk.Options{ForceStaging: staging})
			rng := rand.New(rand.NewPCG(5, 6))
			for _, n := range []int{1, 7, 255, 256, 257, 1000, 65 * 1024} {
				x, y := randomFloats(rng, n), randomFloats(rng, n)
				xb, yb := upload(t, ctx, x), upload(t, ctx, y)
				fb, sb, zb := upload(t, ctx, make([]float32, n+3)), upload(t, ctx, make([]float32, n)), upload(t, ctx, make([]float32, n))
				run(t, ctx, func(rec *vk.Recording) error {
					if err := Fill(ctx, rec, vk.Whole(fb), n, 2.5); err != nil {
						return err
					}
					if err := Scale(ctx, rec, vk.Whole(xb), vk.Whole(sb), n, -3); err != nil {
						return err
					}
					// z = x + y, then z = z + x in place: the second reads
					// what the first wrote, so it needs a barrier.
					if err := Add(ctx, rec, vk.Whole(xb), vk.Whole(yb), vk.Whole(zb), n); err != nil {
						return err
					}
					return Add(ctx, rec, vk.Whole(zb), vk.Whole(xb), vk.Whole(zb), n)
				})
				got := download(t, fb, n+3)
				if d, at := maxAbsDiff(got[:n], ref.Fill(n, 2.5)); d != 0 {
					t.Fatalf("n=%d fill: element %d is %g", n, at, got[at])
				}
				if got[n] != 0 || got[n+2] != 0 {
					t.Fatalf("n=%d fill wrote past n: %v", n, got[n:])
				}
				if d, at := maxAbsDiff(download(t, sb, n), ref.Scale(x, -3)); d != 0 {
					t.Fatalf("n=%d scale: element %d off by %g", n, at, d)
				}
				if d, at := maxAbsDiff(download(t, zb, n), ref.Add(ref.Add(x, y), x)); d != 0 {
					t.Fatalf("n=%d add: element %d off by %g", n, at, d)
				}
			}
		})
	}
}

func TestElementwiseSplitsPastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 4096 // 1024 floats a dispatch
	t.Cleanup(func() { maxRangeOverride = 0 })
	rng := rand.New(rand.NewPCG(7, 8))
	n := 5000
	x, y := randomFloats(rng, n), randomFloats(rng, n)
	xb, yb, zb := upload(t, ctx, x), upload(t, ctx, y), upload(t, ctx, make([]float32, n))
	run(t, ctx, func(rec *vk.Recording) error {
		if err := Add(ctx, rec, vk.Whole(xb), vk.Whole(yb), vk.Whole(zb), n); err != nil {
			return err
		}
		if rec.Dispatches() != 5 {
			return fmt.Errorf("%d dispatches for 5000 floats in 1024-float chunks, want 5", rec.Dispatches())
		}
		return nil
	})
	if d, at := maxAbsDiff(download(t, zb, n), ref.Add(x, y)); d != 0 {
		t.Fatalf("element %d off by %g", at, d)
	}
}

// TestSubgroupKernelsNeedTheirSize runs the subgroup kernel and the
// device's matrix kernel where the device gives their subgroup size, and
// checks that Check refuses them, saying so, where it cannot (lavapipe
// with LP_NATIVE_VECTOR_WIDTH=128 has 4-lane subgroups; ./build.sh test
// runs this at 8 and 4).
func TestSubgroupKernelsNeedTheirSize(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(13, 14))
	inst, err := instance(ctx.Info)
	if err != nil {
		t.Fatal(err)
	}
	g := Gemm{M: 36, N: 68, K: 20, Bias: true, ReLU: true}
	for _, name := range []string{"subgroup16", "coopmat64", "coopmat64x16"} {
		v := variant(t, name)
		ch := Choice{Variant: v, Split: 1, Precision: precisionsOf(v)[0]}
		lanes, wg := v.subgroup(inst)
		if lanes == 0 {
			continue // the emulation uses no subgroup
		}
		if v.Style == Matrix && v.matrixShape(inst) != nil {
			continue // not this instance's tile
		}
		err := Check(ctx.Info, g, ch)
		if want := ctx.Info.RequireSubgroup(lanes, wg); want != nil {
			if err == nil || !strings.Contains(err.Error(), want.Error()) {
				t.Errorf("%s on %d-lane subgroups: %v, want a refusal saying %q", name, ctx.Info.SubgroupSize, err, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(ch.String(), func(t *testing.T) { checkGemm(t, ctx, rng, g.With(ch).(Gemm)) })
	}
}

package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"vkcnn/nn/ref"
	"vkcnn/vk"
	"vkcnn/vk/vktest"
)

func randomFloats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*rng.Float32() - 1
	}
	return x
}

// upload makes a device buffer holding data.
func upload(t *testing.T, ctx *vk.Context, data []float32) *vk.Buffer {
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

// runsCases counts the cases a variant ran of those a test tried, and
// fails the test where a variant ran none.
type runsCases map[string]int

func (r runsCases) add(v GemmVariant, err error) bool {
	if _, ok := r[v.Name]; !ok {
		r[v.Name] = 0
	}
	if err != nil {
		return false
	}
	r[v.Name]++
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

func TestGemmMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ran := runsCases{}
	for _, v := range GemmVariants {
		if err := v.usable(ctx.Info); err != nil {
			t.Logf("skip %v", err)
			continue
		}
		for _, shape := range gemmShapes {
			m, n, k := shape[0], shape[1], shape[2]
			for _, trans := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, epi := range [][2]bool{{false, false}, {true, true}} {
					g := Gemm{M: m, N: n, K: k, TransA: trans[0], TransB: trans[1], Bias: epi[0], ReLU: epi[1], Variant: v}
					if !ran.add(v, Check(ctx.Info, g, g.Choice())) {
						continue
					}
					t.Run(fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v,bias+relu=%v", v.Name, m, n, k, trans[0], trans[1], epi[0]), func(t *testing.T) {
						checkGemm(t, ctx, rng, g)
					})
				}
			}
		}
	}
	ran.check(t)
}

// TestGemmSplitKMatchesReference sums k in several workgroup layers, as
// the dense layers do on GPUs, with every warp variant, transposes, bias
// and ReLU (applied once, after the layers are added).
func TestGemmSplitKMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(9, 10))
	ran := runsCases{}
	for _, v := range GemmVariants {
		if v.Style != Warp {
			continue
		}
		if err := v.usable(ctx.Info); err != nil {
			t.Fatalf("a warp variant lavapipe cannot run: %v", err)
		}
		for _, shape := range [][4]int{{64, 40, 1000, 3}, {17, 36, 652, 2}, {8, 72, 1300, 7}} {
			m, n, k, split := shape[0], shape[1], shape[2], shape[3]
			for _, trans := range [][2]bool{{false, false}, {true, true}} {
				g := Gemm{M: m, N: n, K: k, TransA: trans[0], TransB: trans[1], Bias: true, ReLU: true, Variant: v, Split: split}
				if !ran.add(v, Check(ctx.Info, g, g.Choice())) {
					continue
				}
				if g.layers() < 2 {
					t.Fatalf("%dx%dx%d split %d runs in %d layer", m, n, k, split, g.layers())
				}
				t.Run(fmt.Sprintf("%s/%dx%dx%d/split=%d/tA=%v,tB=%v", v.Name, m, n, k, split, trans[0], trans[1]), func(t *testing.T) {
					checkGemm(t, ctx, rng, g)
				})
			}
		}
	}
	ran.check(t)
}

func checkGemm(t *testing.T, ctx *vk.Context, rng *rand.Rand, g Gemm) {
	a := randomFloats(rng, g.M*g.K)
	b := randomFloats(rng, g.K*g.N)
	var bias []float32
	if g.Bias {
		bias = randomFloats(rng, g.N)
	}
	want := ref.Gemm(g.M, g.N, g.K, a, b, g.TransA, g.TransB, bias, g.ReLU)
	ab, bb := upload(t, ctx, a), upload(t, ctx, b)
	cb := upload(t, ctx, randomFloats(rng, g.M*g.N)) // garbage that must be overwritten
	scratch := upload(t, ctx, make([]float32, max(g.Scratch(ctx.Info), 1)))
	var biasRange vk.Range
	if g.Bias {
		biasRange = vk.Whole(upload(t, ctx, bias))
	}
	run(t, ctx, func(rec *vk.Recording) error {
		return g.Record(ctx, rec, vk.Whole(ab), vk.Whole(bb), vk.Whole(cb), biasRange, vk.Whole(scratch))
	})
	got := download(t, cb, g.M*g.N)
	// |a|,|b| <= 1: float32 rounding grows at most linearly with K.
	tol := 4*float64(g.K)*(1.0/(1<<23)) + 1e-6
	if d, at := maxAbsDiff(got, want); d > tol {
		t.Fatalf("max |error| %.3g at C[%d][%d] (got %g, want %g), tolerance %.3g", d, at/g.N, at%g.N, got[at], want[at], tol)
	}
}

func TestGemmSplitsRowsPastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 16 << 10 // 16 KiB: a 200x40 C spans three bands
	t.Cleanup(func() { maxRangeOverride = 0 })
	rng := rand.New(rand.NewPCG(3, 4))
	g := Gemm{M: 200, N: 40, K: 36, Bias: true}
	g.Variant = Default(ctx.Info, g).Variant
	checkGemm(t, ctx, rng, g)
}

// TestGemmSlicesKPastStorageRange runs a product shaped like a dense
// layer's kernel gradient (A transposed) whose A passes a lowered
// storage-buffer range, in slices of k whose products are added in order:
// with every variant, and split over k within each slice by the warp
// variants.
func TestGemmSlicesKPastStorageRange(t *testing.T) {
	ctx := vktest.Open(t)
	maxRangeOverride = 16 << 10 // A's 48,000 bytes in three slices of k
	t.Cleanup(func() { maxRangeOverride = 0 })
	rng := rand.New(rand.NewPCG(5, 6))
	for _, v := range GemmVariants {
		for _, split := range []int{1, 2} {
			g := Gemm{M: 40, N: 12, K: 300, TransA: true, Variant: v, Split: split}
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
	v := Default(ctx.Info, Gemm{M: 4, N: 4, K: 4}).Variant
	r := vk.Whole(small)
	if err := (Gemm{M: 4, N: 4, K: 4, Variant: v}).Record(ctx, rec, r, r, r, vk.Range{}, r); err == nil {
		t.Fatal("a 4x4x4 product into 10 floats was accepted")
	}
	// A range is as short as its size says, or as its buffer past the
	// offset, whichever is less.
	big := upload(t, ctx, make([]float32, 64))
	for _, r := range []vk.Range{{Buf: big, Size: 4 * 10}, {Buf: small, Size: 4 * 16}, {Buf: big, Offset: 4 * 50}} {
		if err := (Gemm{M: 4, N: 4, K: 4, Variant: v}).Record(ctx, rec, r, r, r, vk.Range{}, r); err == nil {
			t.Errorf("a 4x4x4 product into %d bytes from %d of a %d-byte buffer was accepted", r.Size, r.Offset, r.Buf.Size())
		}
	}
	if err := (Gemm{M: 0, N: 4, K: 4, Variant: v}).Record(ctx, rec, r, r, r, vk.Range{}, r); err == nil {
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

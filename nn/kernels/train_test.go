package kernels

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

func uploadWords(t testing.TB, ctx *vk.Context, words []uint32) *vk.Buffer {
	t.Helper()
	b, err := ctx.NewBuffer(int64(4 * len(words)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.WriteUint32(0, words); err != nil {
		t.Fatal(err)
	}
	return b
}

func stepHeader(counter, seed, valid uint32, lr float32) []uint32 {
	h := make([]uint32, StepWords)
	h[StepCounter], h[StepSeed], h[StepValid], h[StepLR] = counter, seed, valid, math.Float32bits(lr)
	return h
}

func expectExact(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if d, at := maxAbsDiff(got, want); d != 0 {
		t.Fatalf("%s: element %d is %g, want %g", what, at, got[at], want[at])
	}
}

func expectClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if d, at := maxAbsDiff(got, want); d > tol {
		t.Fatalf("%s: element %d is %g, want %g (|error| %.3g > %.3g)", what, at, got[at], want[at], d, tol)
	}
}

// poolShapes are odd shapes of a pooling, the last two in batch slices
// within a lowered storage-buffer range: of 4 images (the alignment of 16
// bytes needs 4 of 420), and of 2.
var poolShapes = []struct {
	b, h, w, c int
	limit      int64
}{{1, 2, 2, 1, 0}, {3, 7, 5, 3, 0}, {2, 28, 28, 8, 0}, {9, 7, 5, 3, 4 * 420}, {5, 28, 28, 8, 2 * 25088}}

func TestReLUAndPoolingMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(13, 14))
	t.Cleanup(func() { maxRangeOverride = 0 })
	for _, s := range poolShapes {
		b, h, w, c := s.b, s.h, s.w, s.c
		maxRangeOverride = s.limit
		n := b * h * w * c
		x := randomFloats(rng, n)
		// Ties: copy some values inside windows so "first maximum" matters.
		for i := 0; i+c < n; i += 7 {
			x[i+c] = x[i]
		}
		dOut := randomFloats(rng, b*(h/2)*(w/2)*c)
		dy := randomFloats(rng, n)
		xB, dOutB, dyB := upload(t, ctx, x), upload(t, ctx, dOut), upload(t, ctx, dy)
		reluB, poolB, dInB := upload(t, ctx, make([]float32, n)), upload(t, ctx, make([]float32, max(len(dOut), 1))), upload(t, ctx, randomFloats(rng, n))
		run(t, ctx, func(rec *vk.Recording) error {
			return errors.Join(
				ReLU(ctx, rec, vk.Whole(xB), vk.Whole(reluB), n),
				ReLUBackward(ctx, rec, vk.Whole(reluB), vk.Whole(dyB), n),
				MaxPool(ctx, rec, vk.Whole(xB), vk.Whole(poolB), b, h, w, c),
				MaxPoolBackward(ctx, rec, vk.Whole(xB), vk.Whole(dOutB), vk.Whole(dInB), b, h, w, c))
		})
		relu := ref.ReLU(x)
		expectExact(t, "relu", download(t, reluB, n), relu)
		expectExact(t, "relu backward", download(t, dyB, n), ref.ReLUBackward(relu, dy))
		expectExact(t, "max pool", download(t, poolB, len(dOut)), ref.MaxPool(x, b, h, w, c))
		expectExact(t, "max pool backward", download(t, dInB, n), ref.MaxPoolBackward(x, dOut, b, h, w, c))
	}
}

func TestDropoutMatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(15, 16))
	n := 10007
	x := randomFloats(rng, n)
	xB, yB := upload(t, ctx, x), upload(t, ctx, make([]float32, n))
	header := uploadWords(t, ctx, stepHeader(42, 7, 0, 0))
	run(t, ctx, func(rec *vk.Recording) error {
		return Dropout(ctx, rec, vk.Whole(xB), vk.Whole(yB), vk.Whole(header), n, 0.3)
	})
	got := download(t, yB, n)
	expectClose(t, "dropout", got, ref.Dropout(x, 0.3, 7, 42), 1e-6)
	dropped := 0
	for _, v := range got {
		if v == 0 {
			dropped++
		}
	}
	if frac := float64(dropped) / float64(n); frac < 0.27 || frac > 0.33 {
		t.Fatalf("dropped %.3f of the elements at rate 0.3", frac)
	}
	if same := ref.Dropout(x, 0.3, 7, 43); maxAbsDiffIs0(same, got) {
		t.Fatal("the next step drew the same mask")
	}
}

func maxAbsDiffIs0(a, b []float32) bool {
	d, _ := maxAbsDiff(a, b)
	return d == 0
}

func TestSoftmaxXentAndAccumulateMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(17, 18))
	const batch, setSize = 7, 23
	// The second case's labels run past its 7 classes, to 255 on the last
	// row, where reading z[row + label] would leave the buffer: the kernel
	// must count them and keep every read in the row, as the reference does.
	for _, c := range []struct {
		name                   string
		classes, labels, valid int
		smoothing              float64
	}{{"labels in range", 10, 10, 5, 0}, {"labels past the classes", 7, 256, batch, 0},
		{"label smoothing", 10, 10, 6, 0.1}, {"labels past the classes, smoothed", 7, 256, batch, 0.3}} {
		t.Run(c.name, func(t *testing.T) {
			logits := randomFloats(rng, batch*c.classes)
			logits[3] = 80 // large logits must not overflow
			labelBytes := make([]byte, setSize)
			for i := range labelBytes {
				labelBytes[i] = byte(rng.IntN(c.labels))
			}
			order := make([]uint32, batch)
			for i := range order {
				order[i] = uint32(rng.IntN(setSize))
			}
			if c.labels > c.classes {
				labelBytes[order[batch-1]] = 255
			}
			labels := make([]int, batch)
			for i, idx := range order {
				labels[i] = int(labelBytes[idx])
			}
			logitsB := upload(t, ctx, logits)
			labelsB, err := ctx.NewBuffer(setSize)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(labelsB.Close)
			if err := labelsB.Write(0, labelBytes); err != nil {
				t.Fatal(err)
			}
			orderB := uploadWords(t, ctx, order)
			header := uploadWords(t, ctx, stepHeader(1, 0, uint32(c.valid), 0))
			dzB, statsB := upload(t, ctx, randomFloats(rng, batch*c.classes)), upload(t, ctx, make([]float32, 3*batch))
			labelErrorsB := uploadWords(t, ctx, []uint32{2})   // earlier steps' count
			totalsB := upload(t, ctx, []float32{1.5, 0, 2, 3}) // earlier steps' totals
			run(t, ctx, func(rec *vk.Recording) error {
				return errors.Join(
					SoftmaxXent(ctx, rec, SoftmaxXentArgs{Logits: vk.Whole(logitsB), Labels: vk.Whole(labelsB), Step: vk.Whole(header), Order: vk.Whole(orderB),
						DZ: vk.Whole(dzB), Stats: vk.Whole(statsB), LabelErrors: vk.Whole(labelErrorsB), Batch: batch, Classes: c.classes, Smoothing: float32(c.smoothing)}),
					Accumulate(ctx, rec, vk.Whole(statsB), vk.Whole(header), vk.Whole(totalsB)))
			})
			dz, stats, bad := ref.SmoothedSoftmaxXent(logits, labels, c.valid, c.classes, float64(float32(c.smoothing)))
			if (bad > 0) != (c.labels > c.classes) {
				t.Fatalf("the reference counts %d labels past the classes", bad)
			}
			expectClose(t, "softmax gradient", download(t, dzB, batch*c.classes), dz, 1e-6)
			expectClose(t, "per-sample stats", download(t, statsB, 3*batch), stats, 1e-5)
			labelErrors := make([]uint32, 1)
			if err := labelErrorsB.ReadUint32(0, labelErrors); err != nil {
				t.Fatal(err)
			}
			if labelErrors[0] != uint32(2+bad) {
				t.Fatalf("label errors %d, want 2 + %d", labelErrors[0], bad)
			}
			var loss, correct float64
			for s := 0; s < c.valid; s++ {
				loss += float64(stats[3*s])
				correct += float64(stats[3*s+1])
			}
			totals := download(t, totalsB, 4)
			if math.Abs(float64(totals[0])-(1.5+loss)) > 1e-5 || float64(totals[2]) != 2+correct || int(totals[3]) != 3+c.valid {
				t.Fatalf("totals %v, want loss %g, correct %g, samples %d", totals, 1.5+loss, 2+correct, 3+c.valid)
			}
		})
	}
}

func TestColSumAndAdamMatchReference(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(19, 20))
	rows, cols := 1011, 13 // 16 chunks, the last one partial, in two slices of 8 within 32 KiB
	g := randomFloats(rng, rows*cols)
	gB, bB := upload(t, ctx, g), upload(t, ctx, make([]float32, cols))
	scratch := upload(t, ctx, make([]float32, ColSumScratch(rows, cols)))

	n := 9001
	p, grad, m, v := randomFloats(rng, n), randomFloats(rng, n), randomFloats(rng, n), randomFloats(rng, n)
	for i := range v {
		v[i] = float32(math.Abs(float64(v[i])))
	}
	pB, gradB, mB, vB := upload(t, ctx, p), upload(t, ctx, grad), upload(t, ctx, m), upload(t, ctx, v)
	const lr = 1e-3
	header := uploadWords(t, ctx, stepHeader(3, 0, 0, lr))
	maxRangeOverride = 32 << 10 // column sums and Adam in slices, as past a device's binding limit
	t.Cleanup(func() { maxRangeOverride = 0 })
	run(t, ctx, func(rec *vk.Recording) error {
		return errors.Join(
			ColSum(ctx, rec, vk.Whole(gB), vk.Whole(bB), vk.Whole(scratch), rows, cols),
			Adam(ctx, rec, AdamArgs{UpdateArgs: UpdateArgs{Params: vk.Whole(pB), Grads: vk.Whole(gradB), Step: vk.Whole(header), N: n},
				M: vk.Whole(mB), V: vk.Whole(vB), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}))
	})
	expectClose(t, "column sums", download(t, bB, cols), ref.ColSum(g, rows, cols), 1e-5)
	ref.Adam(p, grad, m, v, lr, 0.9, 0.999, 1e-8)
	expectClose(t, "Adam parameters", download(t, pB, n), p, 1e-6)
	expectClose(t, "Adam first moment", download(t, mB, n), m, 1e-7)
	expectClose(t, "Adam second moment", download(t, vB, n), v, 1e-7)
}

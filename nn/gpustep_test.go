package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestStandardStepAtBatch64MatchesReference runs one training step of the
// standard model at batch 64 with the device's own kernel choices (on a
// GPU the warp kernels, the dense layers' sums split over k) and checks
// what it computed against the plain-Go reference, layer by layer, each
// layer's reference taking the step's own values at its input: a sample
// of every layer's outputs, input gradients and kernel gradients, every
// bias gradient, the input batch, dropout, the loss and its gradient,
// and Adam's update of every parameter. The whole step in plain Go would
// take minutes; its layers' samples take a second.
func TestStandardStepAtBatch64MatchesReference(t *testing.T) {
	ctx := vktest.Open(t)
	vktest.RequireGPU(t, ctx.Info)
	spec, err := Preset("standard")
	if err != nil {
		t.Fatal(err)
	}
	const batch = 64
	// Every gradient in a buffer of its own, to be read after the step.
	model, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	net, err := newNet(ctx, model, batch, kernels.NewTuning(ctx.Info, kernels.FP32, nil), model.Init(1), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	rng := rand.New(rand.NewPCG(64, 65))
	images, labels := randomSet(rng, 2*batch)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	feed := Feed{Counter: 1, Seed: 3, LR: AdamLR(5e-4, 1), Indices: rng.Perm(2 * batch)[:batch]}
	before, err := net.Params()
	if err != nil {
		t.Fatal(err)
	}
	if err := net.ResetTotals(); err != nil {
		t.Fatal(err)
	}
	if err := net.Step(set, ModeTrain, augment.Sampling{}, feed); err != nil {
		t.Fatal(err)
	}
	st := readStep(t, net)
	c := stepCheck{t: t, rng: rng, batch: batch, before: before, grads: st.grads}

	for s, idx := range feed.Indices {
		for p := range 28 * 28 {
			if want := float32(images[idx*784+p]) / 255; st.acts[0][s*784+p] != want {
				t.Fatalf("input sample %d pixel %d is %g, want %g", s, p, st.acts[0][s*784+p], want)
			}
		}
	}
	layers := net.Model.Layers
	for i, l := range layers {
		in, out, dOut := st.acts[i], st.acts[i+1], st.dacts[i+1]
		var dIn []float32
		if i > 0 {
			dIn = st.dacts[i]
		}
		// The input gradient is cut in place, after this layer wrote it,
		// where the layer before fuses a ReLU.
		cut := i > 0 && fusesReLU(layers, i-1)
		name := l.Spec.Name
		switch r := l.rec.(type) {
		case *conv2d:
			c.conv(name, r, ref.ConvGeom{Batch: batch, H: l.In.H, W: l.In.W, Cin: l.In.C, Cout: l.Out.C, KH: r.kh, KW: r.kw}, in, out, dOut, dIn, cut)
		case *dense:
			c.dense(name, r, in, out, dOut, dIn, cut)
		case *dropout:
			c.dropout(name, r, feed, in, out, dOut, dIn, cut)
		case flatten:
		default:
			t.Fatalf("no reference for layer %s (%s)", name, l.Spec.Type)
		}
	}

	rows := make([]int, batch)
	for s, idx := range feed.Indices {
		rows[s] = int(labels[idx])
	}
	logits := st.acts[len(layers)]
	dz, stats, _ := ref.SoftmaxXent(logits, rows, batch, net.Model.Classes)
	c.close("loss gradient", st.dacts[len(layers)], dz, 1e-7)
	var want float64
	for s := range batch {
		want += float64(stats[3*s]) / batch
	}
	if loss, _, n, err := net.Totals(); err != nil || n != batch || math.Abs(loss-want) > 1e-5*want {
		t.Errorf("loss %g over %d samples (%v), want %g over %d", loss, n, err, want, batch)
	}

	trainable := net.Model.TrainableFloats
	p, m, v := append([]float32(nil), before[:trainable]...), make([]float32, trainable), make([]float32, trainable)
	ref.Adam(p, st.grads, m, v, feed.LR, AdamBeta1, AdamBeta2, AdamEpsilon)
	c.close("Adam's first moment", st.m, m, 0)
	c.close("Adam's second moment", st.v, v, 0)
	c.close("weights after Adam", st.after[:trainable], p, 1e-9)
}

// fusesReLU says whether layer i ends in a ReLU of its own, looking
// through a flatten, which passes its input on.
func fusesReLU(layers []*Layer, i int) bool {
	for ; i >= 0; i-- {
		switch r := layers[i].rec.(type) {
		case *conv2d:
			return r.relu
		case *dense:
			return r.relu
		case flatten:
			continue
		}
		return false
	}
	return false
}

// stepValues is everything a step leaves on the device.
type stepValues struct {
	acts, dacts        [][]float32 // by tensor, as Net keeps them
	grads, after, m, v []float32
}

func readStep(t *testing.T, n *Net) stepValues {
	t.Helper()
	read := func(r vk.Range) []float32 {
		if r.Buf == nil {
			return nil
		}
		out := make([]float32, r.Size/4)
		if err := r.Buf.ReadFloat32(r.Offset, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var st stepValues
	for i := range n.acts {
		st.acts = append(st.acts, read(whole(n.acts[i])))
		st.dacts = append(st.dacts, read(n.dacts[i]))
	}
	var err error
	if st.grads, err = n.Gradients(); err != nil {
		t.Fatal(err)
	}
	if st.after, err = n.Params(); err != nil {
		t.Fatal(err)
	}
	if st.m, st.v, err = n.OptimizerState(); err != nil {
		t.Fatal(err)
	}
	return st
}

// stepCheck compares a step's values with the reference.
type stepCheck struct {
	t             *testing.T
	rng           *rand.Rand
	batch         int
	before, grads []float32
}

// entries are the corners of a rows x cols matrix and 200 entries at
// random, as row-major indices; every entry of a single row.
func (c stepCheck) entries(rows, cols int) []int {
	if rows == 1 {
		out := make([]int, cols)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := []int{0, cols - 1, (rows - 1) * cols, rows*cols - 1}
	for range 200 {
		out = append(out, c.rng.IntN(rows*cols))
	}
	return out
}

// sums checks entries of got against sums of k products: want gives an
// entry's reference and the sum of its terms' magnitudes, which bounds
// float32's rounding (sqrt(k) of its unit a term, with a margin of 8).
func (c stepCheck) sums(what string, got []float32, entries []int, k int, want func(e int) (v, magnitude float64)) {
	c.t.Helper()
	worst := 0.0
	for _, e := range entries {
		v, mag := want(e)
		tol := 8 * math.Sqrt(float64(k)) * mag / (1 << 24)
		d := math.Abs(float64(got[e]) - v)
		if !(d <= tol) {
			c.t.Errorf("%s: entry %d is %g, want %g (|error| %.3g, tolerance %.3g)", what, e, got[e], v, d, tol)
			return
		}
		if tol > 0 {
			worst = max(worst, d/tol)
		}
	}
	c.t.Logf("%s: %d entries, the largest error %.2f of its tolerance", what, len(entries), worst)
}

// close checks every element of got against want, within 2^-22 of it and
// abs.
func (c stepCheck) close(what string, got, want []float32, abs float64) {
	c.t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= abs+math.Abs(float64(want[i]))/(1<<22)) {
			c.t.Errorf("%s: element %d of %d is %g, want %g", what, i, len(want), got[i], want[i])
			return
		}
	}
}

func (c stepCheck) param(p *Param) []float32 { return c.before[p.Offset : p.Offset+p.Size()] }
func (c stepCheck) grad(p *Param) []float32  { return c.grads[p.Offset : p.Offset+p.Size()] }

func magnitudes(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(math.Abs(float64(v)))
	}
	return out
}

// cutWhere zeroes v where a ReLU cut its value x.
func cutWhere(cut bool, x float32, v float64) float64 {
	if cut && x <= 0 {
		return 0
	}
	return v
}

func (c stepCheck) conv(name string, r *conv2d, g ref.ConvGeom, in, out, dOut, dIn []float32, cut bool) {
	w, bias := c.param(r.kernel), c.param(r.bias)
	absIn, absW, absDOut := magnitudes(in), magnitudes(w), magnitudes(dOut)
	pixels, taps := g.Batch*g.H*g.W, g.KH*g.KW
	c.sums(name+" forward", out, c.entries(pixels, g.Cout), taps*g.Cin, func(e int) (float64, float64) {
		o, co := e/g.Cout, e%g.Cout
		v := ref.ConvForwardEntry(g, in, w, o, co) + float64(bias[co])
		if r.relu {
			v = max(v, 0)
		}
		return v, ref.ConvForwardEntry(g, absIn, absW, o, co) + math.Abs(float64(bias[co]))
	})
	c.sums(name+" kernel gradient", c.grad(r.kernel), c.entries(taps*g.Cin, g.Cout), pixels, func(e int) (float64, float64) {
		tap, ci, co := e/g.Cout/g.Cin, e/g.Cout%g.Cin, e%g.Cout
		ky, kx := tap/g.KW, tap%g.KW
		return ref.ConvBackwardFilterEntry(g, in, dOut, ky, kx, ci, co), ref.ConvBackwardFilterEntry(g, absIn, absDOut, ky, kx, ci, co)
	})
	c.biasGradient(name, r.bias, dOut, absDOut, pixels)
	if dIn == nil {
		return
	}
	c.sums(name+" input gradient", dIn, c.entries(pixels, g.Cin), taps*g.Cout, func(e int) (float64, float64) {
		i, ci := e/g.Cin, e%g.Cin
		return cutWhere(cut, in[e], ref.ConvBackwardDataEntry(g, dOut, w, i, ci)), ref.ConvBackwardDataEntry(g, absDOut, absW, i, ci)
	})
}

func (c stepCheck) dense(name string, r *dense, in, out, dOut, dIn []float32, cut bool) {
	w, bias := c.param(r.kernel), c.param(r.bias)
	absIn, absW, absDOut := magnitudes(in), magnitudes(w), magnitudes(dOut)
	b := c.batch
	c.sums(name+" forward", out, c.entries(b, r.units), r.in, func(e int) (float64, float64) {
		s, j := e/r.units, e%r.units
		v := ref.GemmEntry(b, r.units, r.in, in, w, false, false, s, j) + float64(bias[j])
		if r.relu {
			v = max(v, 0)
		}
		return v, ref.GemmEntry(b, r.units, r.in, absIn, absW, false, false, s, j) + math.Abs(float64(bias[j]))
	})
	c.sums(name+" kernel gradient", c.grad(r.kernel), c.entries(r.in, r.units), b, func(e int) (float64, float64) {
		p, j := e/r.units, e%r.units
		return ref.GemmEntry(r.in, r.units, b, in, dOut, true, false, p, j), ref.GemmEntry(r.in, r.units, b, absIn, absDOut, true, false, p, j)
	})
	c.biasGradient(name, r.bias, dOut, absDOut, b)
	if dIn == nil {
		return
	}
	c.sums(name+" input gradient", dIn, c.entries(b, r.in), r.units, func(e int) (float64, float64) {
		s, p := e/r.in, e%r.in
		return cutWhere(cut, in[e], ref.GemmEntry(b, r.in, r.units, dOut, w, false, true, s, p)), ref.GemmEntry(b, r.in, r.units, absDOut, absW, false, true, s, p)
	})
}

// biasGradient checks every entry of a bias gradient: the column sums of
// the output gradient over its rows.
func (c stepCheck) biasGradient(name string, bias *Param, dOut, absDOut []float32, rows int) {
	cols := bias.Size()
	sums, mags := ref.ColSum(dOut, rows, cols), ref.ColSum(absDOut, rows, cols)
	c.sums(name+" bias gradient", c.grad(bias), c.entries(1, cols), rows, func(e int) (float64, float64) {
		return float64(sums[e]), float64(mags[e])
	})
}

func (c stepCheck) dropout(name string, r *dropout, feed Feed, in, out, dOut, dIn []float32, cut bool) {
	c.close(name+" forward", out, ref.Dropout(in, r.rate, feed.Seed, feed.Counter), 0)
	want := ref.Dropout(dOut, r.rate, feed.Seed, feed.Counter)
	for i := range want {
		want[i] = float32(cutWhere(cut, in[i], float64(want[i])))
	}
	c.close(name+" input gradient", dIn, want, 0)
}

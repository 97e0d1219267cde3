package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// The whole-network gradient check: a float64 reference of a gradient
// step (ModeGradient: dropout on, batch statistics), itself checked
// against finite differences of its loss, and the device's gradient held
// to it element by element, within what float32 rounding may move it.

// reference is the float64 reference of a gradient step of a model on a
// batch whose first valid samples are real and the rest padding.
type reference struct {
	batch, valid  int
	seed, counter uint32    // dropout's
	params        []float64 // the weight vector
	// rounding perturbs every result as float32 arithmetic may round it;
	// nil for exact results.
	rounding *ref.Rounding
	// loss is the valid samples' mean loss, logits the last layer's output
	// and grads the trainable prefix's gradients, laid out as the weights.
	loss          float64
	logits, grads []float64
	// switches lists every ReLU's and max pool's choice, which finite
	// differences must leave as they are, and margins how far each input
	// lies from another choice, which rounding must not cross.
	switches []int
	margins  []float64
}

// poolGeom is a pooling's windows at the reference's batch.
func poolGeom(w kernels.Window, r *reference) ref.ConvGeom {
	return ref.ConvGeom{Batch: r.batch, H: w.H, W: w.W, Cin: w.C, KH: w.KH, KW: w.KW, OH: w.OH, OW: w.OW, SH: w.SH, SW: w.SW, PadTop: w.PadTop, PadLeft: w.PadLeft}
}

// maxPoolWindows64 is the reference of max pooling in w's windows, whose
// choices finite differences must leave as they are.
func maxPoolWindows64(w kernels.Window) layer64 {
	return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
		y, from, margin := ref.MaxPoolWindows64(poolGeom(w, r), x)
		for o, i := range from {
			r.decide(i, margin[o])
		}
		return y, func(dy []float64) []float64 { return ref.MaxPoolWindowsBackward64(from, dy, len(x)) }
	})
}

// layer64 is a layer kind's float64 reference: its output for inputs xs
// and the backward pass that goes with it, which sets the layer's
// parameter gradients and returns its inputs' gradients.
type layer64 func(r *reference, xs [][]float64) (y []float64, backward func(dy []float64) [][]float64)

// unary64 is the reference of a kind of one input.
type unary64 func(r *reference, x []float64) (y []float64, backward func(dy []float64) []float64)

func one(f unary64) layer64 {
	return func(r *reference, xs [][]float64) ([]float64, func([]float64) [][]float64) {
		y, back := f(r, xs[0])
		return y, func(dy []float64) [][]float64 { return [][]float64{back(dy)} }
	}
}

// references holds every layer kind's reference, by type name.
var references = map[string]func(l *Layer) layer64{
	"add": func(l *Layer) layer64 {
		return func(r *reference, xs [][]float64) ([]float64, func([]float64) [][]float64) {
			y := xs[0]
			for _, x := range xs[1:] {
				y = ref.Add64(y, x, r.rounding)
			}
			return y, func(dy []float64) [][]float64 {
				dxs := make([][]float64, len(xs))
				for k := range dxs {
					dxs[k] = dy
				}
				return dxs
			}
		}
	},
	"concatenate": func(l *Layer) layer64 {
		pixels := l.Out.H * l.Out.W
		var cs []int
		for _, in := range l.Ins {
			cs = append(cs, in.C)
		}
		return func(r *reference, xs [][]float64) ([]float64, func([]float64) [][]float64) {
			return ref.Concat(xs, r.batch*pixels, cs), func(dy []float64) [][]float64 { return ref.Split(dy, r.batch*pixels, cs) }
		}
	},
	"conv2d": func(l *Layer) layer64 {
		c := l.rec.(*conv2d)
		g := ref.ConvGeom{H: c.in.H, W: c.in.W, Cin: c.in.C, Cout: c.out.C, KH: c.kh, KW: c.kw}
		if w := c.windows; w != nil {
			g.OH, g.OW, g.SH, g.SW, g.PadTop, g.PadLeft = w.OH, w.OW, w.SH, w.SW, w.PadTop, w.PadLeft
			g.DH, g.DW, g.Groups = w.DH, w.DW, w.Groups
		}
		return affine64(g, c.kernel, c.bias, c.relu, c.act)
	},
	"depthwiseconv2d": func(l *Layer) layer64 {
		d := l.rec.(*depthwiseConv2D)
		return one(depthwise64(d.dw, d.kernel, d.bias, d.act))
	},
	"separableconv2d": func(l *Layer) layer64 { return separable64(l.rec.(*separableConv2D)) },
	"globalavgpool2d": func(l *Layer) layer64 {
		in := l.rec.(*globalAvgPool2D).in
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			return ref.GlobalAvgPool64(x, r.batch, in.H*in.W, in.C, r.rounding), func(dy []float64) []float64 {
				return ref.GlobalAvgPoolBackward64(dy, r.batch, in.H*in.W, in.C, r.rounding)
			}
		})
	},
	"dense": func(l *Layer) layer64 {
		d := l.rec.(*dense)
		return affine64(ref.ConvGeom{H: 1, W: 1, Cin: d.in, Cout: d.units, KH: 1, KW: 1}, d.kernel, d.bias, d.relu, d.act)
	},
	"maxpool2d": func(l *Layer) layer64 {
		in := l.rec.(*maxPool2D).in
		if w := l.rec.(*maxPool2D).window; w != nil {
			return maxPoolWindows64(*w)
		}
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			y, from, margin := ref.MaxPool64(x, r.batch, in.H, in.W, in.C)
			for o, i := range from {
				r.decide(i, margin[o])
			}
			return y, func(dy []float64) []float64 { return ref.MaxPoolBackward64(from, dy, len(x)) }
		})
	},
	"globalmaxpool2d": func(l *Layer) layer64 { return maxPoolWindows64(*l.rec.(*globalMaxPool2D).window) },
	"zeropadding2d": func(l *Layer) layer64 {
		w := *l.rec.(*zeroPadding2D).window
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			g := poolGeom(w, r)
			return ref.Pad64(g, x), func(dy []float64) []float64 { return ref.Crop64(g, dy) }
		})
	},
	"avgpool2d": func(l *Layer) layer64 {
		in := l.rec.(*avgPool2D).in
		if w := l.rec.(*avgPool2D).window; w != nil {
			return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
				g := poolGeom(*w, r)
				return ref.AvgPoolWindows64(g, x, r.rounding), func(dy []float64) []float64 { return ref.AvgPoolWindowsBackward64(g, dy, r.rounding) }
			})
		}
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			return ref.AvgPool64(x, r.batch, in.H, in.W, in.C, r.rounding), func(dy []float64) []float64 {
				return ref.AvgPoolBackward64(dy, r.batch, in.H, in.W, in.C)
			}
		})
	},
	"batchnorm": func(l *Layer) layer64 {
		bn := l.rec.(*batchNorm)
		pixels := bn.in.H * bn.in.W
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			b := ref.BatchNorm{Rows: r.batch * pixels, C: bn.in.C, Valid: r.valid * pixels, Eps: float64(bn.epsilon)}
			gamma, beta := r.param(bn.gamma), r.param(bn.beta)
			mean, variance := b.Stats64(x, r.rounding)
			xhat, invStd := b.Normalize64(x, mean, variance, r.rounding)
			return b.Forward64(xhat, gamma, beta, r.rounding), func(dy []float64) []float64 {
				dGamma, dBeta, dx := b.Backward64(xhat, invStd, dy, gamma, r.rounding)
				r.setGrad(bn.gamma, dGamma)
				r.setGrad(bn.beta, dBeta)
				return dx
			}
		})
	},
	"relu": func(*Layer) layer64 {
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			y := r.relu(x)
			return y, func(dy []float64) []float64 { return ref.ReLUBackward64(y, dy) }
		})
	},
	"activation": func(l *Layer) layer64 { return one(activation64(l.rec.(activationLayer).act)) },
	"leaky_relu": func(l *Layer) layer64 { return one(activation64(l.rec.(activationLayer).act)) },
	"dropout": func(l *Layer) layer64 {
		rate := l.rec.(*dropout).rate
		return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
			// The same mask both ways.
			return ref.Dropout64(x, rate, r.seed, r.counter, r.rounding), func(dy []float64) []float64 {
				return ref.Dropout64(dy, rate, r.seed, r.counter, r.rounding)
			}
		})
	},
	"flatten": func(*Layer) layer64 {
		return one(func(_ *reference, x []float64) ([]float64, func([]float64) []float64) {
			return x, func(dy []float64) []float64 { return dy }
		})
	},
}

// affine64 is a convolution or, as a 1x1 one on a 1x1 image, a dense
// layer: kernel, bias and, where relu is set, a fused ReLU, or act.
func affine64(g ref.ConvGeom, kernel, bias *Param, relu bool, act activation) layer64 {
	activate := activation64(act)
	return one(func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
		g.Batch = r.batch
		w := r.param(kernel)
		var b []float64
		if bias != nil {
			b = r.param(bias)
		}
		y := ref.ConvForward64(g, x, w, b, r.rounding)
		if relu {
			y = r.relu(y)
		}
		y, activated := activate(r, y)
		return y, func(dy []float64) []float64 {
			dy = activated(dy)
			if relu {
				dy = ref.ReLUBackward64(y, dy)
			}
			r.setGrad(kernel, ref.ConvBackwardFilter64(g, x, dy, r.rounding))
			if bias != nil {
				r.setGrad(bias, ref.ColSum64(dy, g.Outputs(), g.Cout, r.rounding))
			}
			return ref.ConvBackwardData64(g, dy, w, r.rounding)
		}
	})
}

// activation64 is an activation (none: the identity), noting on which
// piece between its kinks each input lies.
func activation64(a activation) unary64 {
	f := ref.Activation{Name: a.fn.String(), Alpha: float64(a.alpha)}
	return func(r *reference, x []float64) ([]float64, func([]float64) []float64) {
		if !a.set {
			return x, func(dy []float64) []float64 { return dy }
		}
		if len(f.Kinks()) > 0 {
			for _, v := range x {
				r.decide(f.Piece(v))
			}
		}
		return f.Forward64(x, r.rounding), func(dy []float64) []float64 { return f.Backward64(x, dy, r.rounding) }
	}
}

func (r *reference) param(p *Param) []float64 { return r.params[p.Offset : p.Offset+p.Size()] }

func (r *reference) setGrad(p *Param, g []float64) { copy(r.grads[p.Offset:], g) }

func (r *reference) relu(x []float64) []float64 {
	for _, v := range x {
		r.decide(btoi(v > 0), v)
	}
	return ref.ReLU64(x)
}

// decide notes a ReLU's or max pool's choice and its margin: how far its
// input lies from making another.
func (r *reference) decide(choice int, margin float64) {
	r.switches = append(r.switches, choice)
	r.margins = append(r.margins, margin)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// step runs the reference on a batch of images (bytes, one image per
// sample, the first valid real) and their labels: forward and loss, and
// where backward is set the gradients.
func (r *reference) step(m *Model, images []byte, labels []int, backward bool) {
	r.switches, r.margins = nil, nil
	// The device's input: each pixel over 255, correctly rounded.
	x := make([]float64, len(images))
	for i, b := range images {
		x[i] = float64(float32(b) / 255)
	}
	xs := [][]float64{x} // by tensor
	backs := make([]func([]float64) [][]float64, len(m.Layers))
	for i, l := range m.Layers {
		var ins [][]float64
		for _, t := range l.Inputs {
			ins = append(ins, xs[t])
		}
		var y []float64
		y, backs[i] = references[l.Spec.Type](l)(r, ins)
		xs = append(xs, y)
	}
	x = xs[len(m.Layers)]
	r.logits = x
	dz, loss, _ := ref.SoftmaxXent64(x, labels, r.valid, m.Classes, r.rounding)
	// The device sums the valid samples' losses in float32.
	r.loss = ref.ColSum64(loss[:r.valid], r.valid, 1, r.rounding)[0] / float64(r.valid)
	if !backward {
		return
	}
	r.grads = make([]float64, m.TrainableFloats)
	// Each tensor's gradient sums its readers' parts as the device does:
	// the last reader's first, each next one added in float32.
	dxs := make([][]float64, len(m.Layers)+1)
	dxs[len(m.Layers)] = dz
	for i := len(m.Layers) - 1; i >= 0; i-- {
		for k, part := range backs[i](dxs[i+1]) {
			if t := m.Layers[i].Inputs[k]; dxs[t] == nil {
				dxs[t] = part
			} else {
				dxs[t] = ref.Add64(dxs[t], part, r.rounding)
			}
		}
	}
}

// randomParams returns weights for a check: Keras' initial kernels, and
// biases, gammas and betas moved off their initial zeros and ones, so
// that every term of every gradient counts.
func randomParams(m *Model, seed uint64) []float32 {
	params := m.Init(seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params {
		if p.Trainable && p.Init != GlorotUniform {
			for i := p.Offset; i < p.Offset+p.Size(); i++ {
				params[i] += float32(0.6*rng.Float64() - 0.3)
			}
		}
	}
	return params
}

// TestEveryKindHasAReference: the gradient check covers every layer kind,
// which must have a float64 reference here and appear in tinySpec,
// graphSpec or stridedSpec.
func TestEveryKindHasAReference(t *testing.T) {
	used := map[string]bool{}
	for _, l := range slices.Concat(tinySpec().Layers, graphSpec().Layers, stridedSpec().Layers, poolingSpec().Layers, depthwiseSpec().Layers, windowsSpec().Layers) {
		used[l.Type] = true
	}
	for name := range kinds {
		if references[name] == nil {
			t.Errorf("layer type %s has no float64 reference in gradcheck_test.go", name)
		}
		if !used[name] {
			t.Errorf("no spec of the gradient check uses layer type %s", name)
		}
	}
}

// TestReferenceMatchesFiniteDifferences checks the reference's gradient,
// every element of every trainable tensor, against central differences
// of its loss, on small inputs of odd sides (pooling drops a row or a
// column) with a partial batch whose padding differs from the real
// samples.
func TestReferenceMatchesFiniteDifferences(t *testing.T) {
	tiny, bn, graph, strided, joins := tinySpec(), bnSpec(), graphSpec(), stridedSpec(), joinsSpec()
	tiny.Input, bn.Input, graph.Input, strided.Input, joins.Input = [3]int{9, 7, 2}, [3]int{5, 3, 1}, [3]int{5, 7, 2}, [3]int{7, 8, 2}, [3]int{4, 5, 1}
	pooling, depthwise, windows := poolingSpec(), depthwiseSpec(), windowsSpec()
	pooling.Input, depthwise.Input, windows.Input = [3]int{7, 6, 2}, [3]int{6, 7, 2}, [3]int{9, 8, 2}
	for _, spec := range []ModelSpec{tiny, bn, graph, strided, joins, pooling, depthwise, windows} {
		t.Run(fmt.Sprint(spec.Input), func(t *testing.T) { checkFiniteDifferences(t, spec) })
	}
	for _, spec := range activationSpecs() {
		spec.Input = [3]int{6, 5, 1}
		t.Run(spec.Name, func(t *testing.T) { checkFiniteDifferences(t, spec) })
	}
}

// activationSpecs are a model for each activation, in conv2d's and
// dense's activation field and as a layer of its own (the relu of the
// first two is the fused one), with an alpha where it takes one.
func activationSpecs() []ModelSpec {
	var out []ModelSpec
	for _, a := range kernels.Activations() {
		name := a.String()
		var alpha *float64
		switch a {
		case kernels.ActLeakyReLU:
			alpha = new(0.3)
		case kernels.ActELU:
			alpha = new(0.7)
		}
		out = append(out, ModelSpec{Format: SpecFormat, Name: name, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
			{Type: "conv2d", Filters: 2, KernelSize: Pair{3, 3}, Activation: name, Alpha: alpha},
			{Type: "avgpool2d"},
			{Type: "avgpool2d"},
			{Type: "flatten"},
			{Type: "dense", Units: 6, Activation: name, Alpha: alpha},
			{Type: "activation", Activation: name, Alpha: alpha},
			{Type: "dense", Units: 10, Activation: "softmax"},
		}})
	}
	return out
}

func checkFiniteDifferences(t *testing.T, spec ModelSpec) {
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	const batch, valid = 4, 3
	rng := rand.New(rand.NewPCG(3, 4))
	images := make([]byte, batch*m.Input().Size())
	for i := range images {
		images[i] = byte(rng.IntN(256))
	}
	labels := []int{3, 7, 1, 5}
	r := &reference{batch: batch, valid: valid, seed: 11, counter: 7, params: ref.Float64s(randomParams(m, 3))}
	r.step(m, images, labels, true)
	grads, switches, base := r.grads, slices.Clone(r.switches), r.loss
	loss := func(i int, at float64) (float64, bool) {
		orig := r.params[i]
		r.params[i] = at
		r.step(m, images, labels, false)
		r.params[i] = orig
		return r.loss, slices.Equal(r.switches, switches)
	}
	shrunk := 0
	var bad []string
	for _, p := range m.Params {
		if !p.Trainable {
			continue
		}
		for i := p.Offset; i < p.Offset+p.Size(); i++ {
			// A five-point difference, its error O(h^4); its step shrunk
			// where a ReLU or max pool would switch inside it.
			h := 1e-3 * max(1, math.Abs(r.params[i]))
			var fd float64
			for try := 0; ; try++ {
				var l [4]float64
				smooth := true
				for k, s := range []float64{-2, -1, 1, 2} {
					var ok bool
					l[k], ok = loss(i, r.params[i]+s*h)
					smooth = smooth && ok
				}
				if smooth {
					fd = (l[0] - 8*l[1] + 8*l[2] - l[3]) / (12 * h)
					break
				}
				if try == 3 {
					t.Fatalf("%s[%d]: a ReLU or max pool switches within %.3g of the weight", p.Name, i-p.Offset, h)
				}
				shrunk++
				h /= 16
			}
			// Relative 1e-6, or the difference's own rounding: the losses'
			// float64 rounding, a few ulp of the loss, over the step.
			g := grads[i]
			if d, floor := math.Abs(fd-g), 16*0x1p-52*base/h; !(d <= 1e-6*math.Abs(g)+floor) {
				bad = append(bad, fmt.Sprintf("%s[%d]: reference %.10g, finite difference %.10g (relative error %.3g)", p.Name, i-p.Offset, g, fd, d/math.Abs(g)))
			}
		}
	}
	failOn(t, bad)
	t.Logf("%d steps shrunk to keep a ReLU or max pool from switching inside", shrunk)
}

// TestGradientMatchesReference runs gradient steps on the device, with
// dropout on and full and partial batches, and holds every element of
// every trainable tensor's gradient, the logits of the real samples and
// the loss to the float64 reference, within what float32 rounding may
// move them.
func TestGradientMatchesReference(t *testing.T) {
	for _, c := range gradientSteps {
		t.Run(c.name, func(t *testing.T) {
			m, grads, want := c.run(t)
			failOn(t, gradientMismatches(m, grads, want))
			worst, exact := 0.0, 0
			for _, p := range m.Params {
				for i := p.Offset; p.Trainable && i < p.Offset+p.Size(); i++ {
					if d := math.Abs(float64(grads[i]) - want.v[i]); d > 0 {
						worst = max(worst, d/want.tol[i])
					}
					exact += btoi(want.tol[i] == 0)
				}
			}
			t.Logf("%d gradients exact; the others at most %.3g of their tolerance from the reference", exact, worst)
		})
	}
}

// gradientStep is a gradient step to check: of spec, with weights from
// seed, on a batch of 4 whose real samples indices picks from 6 random
// images.
type gradientStep struct {
	name    string
	spec    ModelSpec
	indices []int
	seed    uint64
}

// The seeds keep every ReLU input, max-pool window and activation's kink
// well clear of float32 rounding's reach (see bounds).
var gradientSteps = append([]gradientStep{
	{"tiny, partial batch", tinySpec(), []int{4, 1, 2}, 11},
	{"tiny, full batch", tinySpec(), []int{0, 3, 5, 1}, 12},
	{"batch normalization, partial batch", bnSpec(), []int{2, 5, 0}, 9},
	{"graph, partial batch", graphSpec(), []int{3, 0, 4}, 5},
	{"graph, full batch", graphSpec(), []int{1, 2, 5, 3}, 5},
	{"strided, partial batch", stridedSpec(), []int{5, 1, 3}, 7},
	{"joins, full batch", joinsSpec(), []int{0, 4, 2, 3}, 3},
	{"pooling, partial batch", poolingSpec(), []int{1, 5, 2}, 4},
	{"depthwise, partial batch", depthwiseSpec(), []int{5, 1, 3}, 7},
	{"residual block, partial batch", residualSpec(), []int{2, 4, 1}, 1},
	{"windows, partial batch", windowsSpec(), []int{5, 1, 3}, 7},
}, activationSteps()...)

// residualSpec is a basic block as resnet20 has it, whose batch
// normalization and add each run the ReLU after them (Model.fuse).
func residualSpec() ModelSpec {
	noBias := new(bool)
	return ModelSpec{Format: GraphFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "stem", Filters: 4, KernelSize: Pair{3, 3}, UseBias: noBias},
		{Type: "batchnorm", Name: "stem_bn"},
		{Type: "relu", Name: "stem_relu"},
		{Type: "conv2d", Name: "conv1", Filters: 4, KernelSize: Pair{3, 3}, UseBias: noBias},
		{Type: "batchnorm", Name: "bn1"},
		{Type: "relu", Name: "relu1"},
		{Type: "conv2d", Name: "conv2", Filters: 4, KernelSize: Pair{3, 3}, UseBias: noBias},
		{Type: "batchnorm", Name: "bn2"},
		{Type: "add", Name: "sum", Inputs: []string{"bn2", "stem_relu"}},
		{Type: "relu", Name: "out"},
		{Type: "globalavgpool2d"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// windowsSpec is a graph of convolutions of every window the im2col
// path and the depthwise kernels take: an even 4x4 kernel (padded more
// below and right); a residual block of a dilated grouped convolution
// with a fused ReLU beside a grouped 1x1 shortcut; a 3x1 kernel in three
// groups at steps of 2 and 1 without a bias; a dilated 3x2 depthwise
// kernel; a dilated 2x3 separable one with "valid" padding.
func windowsSpec() ModelSpec {
	return ModelSpec{Format: GraphFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "even", Filters: 4, KernelSize: Pair{4, 4}, Activation: "relu"},
		{Type: "conv2d", Name: "dilated", Filters: 6, KernelSize: Pair{3, 3}, DilationRate: Pair{2, 2}, Groups: 2, Activation: "relu"},
		{Type: "conv2d", Name: "shortcut", Filters: 6, KernelSize: Pair{1, 1}, Groups: 2, Inputs: []string{"even"}},
		{Type: "add", Name: "block", Inputs: []string{"dilated", "shortcut"}},
		{Type: "conv2d", Name: "tall", Filters: 6, KernelSize: Pair{3, 1}, Strides: Pair{2, 1}, Groups: 3, UseBias: new(bool)},
		{Type: "depthwiseconv2d", Name: "dw", KernelSize: Pair{3, 2}, DilationRate: Pair{1, 2}, Activation: "relu"},
		{Type: "separableconv2d", Name: "sep", Filters: 4, KernelSize: Pair{2, 3}, DilationRate: Pair{2, 2}, Padding: "valid", Activation: "tanh"},
		{Type: "globalavgpool2d", Name: "pooled"},
		{Type: "dense", Name: "logits", Units: 10, Activation: "softmax"},
	}}
}

// poolingSpec pools as Keras' options have it: zero padding of each
// side its own; max pooling in 3x3 windows at stride 2 with "same"
// padding (windows that overlap, partly of padding); average pooling of
// 2x3 windows at stride 1 with "same" padding (the windows' real pixels
// only) and of 3x3 "valid" windows at steps of 2 and 1; global max
// pooling.
func poolingSpec() ModelSpec {
	return ModelSpec{Format: SpecFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "zeropadding2d", ZeroPadding: &[2][2]int{{1, 0}, {0, 1}}},
		{Type: "conv2d", Filters: 3, KernelSize: Pair{3, 3}},
		{Type: "maxpool2d", PoolSize: Pair{3, 3}, Strides: Pair{2, 2}, Padding: "same"},
		{Type: "avgpool2d", PoolSize: Pair{2, 3}, Strides: Pair{1, 1}, Padding: "same"},
		{Type: "avgpool2d", PoolSize: Pair{3, 3}, Strides: Pair{2, 1}},
		{Type: "globalmaxpool2d"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
}

// activationSteps are a partial batch of each of activationSpecs.
func activationSteps() []gradientStep {
	var out []gradientStep
	for _, spec := range activationSpecs() {
		out = append(out, gradientStep{spec.Name + ", partial batch", spec, []int{2, 5, 0}, 9})
	}
	return out
}

// TestGradientCheckCatchesPlantedErrors plants errors in the device's
// gradient of a step of tinySpec on a partial batch, each alone, and
// expects the check to report each where it was planted: every bias term
// scaled by 1.5, where its gradient is not within rounding of 0 (a bias
// before batch normalization has none), and every row of every dense
// kernel moved by one position, where that changes it.
func TestGradientCheckCatchesPlantedErrors(t *testing.T) {
	m, grads, want := gradientSteps[0].run(t)
	planted := map[string]int{}
	// plant changes elements from..to of the gradient of p.
	plant := func(kind string, p *Param, from, to int, change func(g []float32)) {
		g := slices.Clone(grads)
		change(g)
		if slices.Equal(g, grads) {
			return
		}
		if planted[kind]++; planted[kind] == 1 {
			t.Logf("%s, for one: %q", kind, mismatches(p.Name, g, want, p.Offset, p.Offset+p.Size()))
		}
		if len(mismatches(p.Name, g, want, from, to)) == 0 {
			t.Errorf("%s: %s[%d:%d] not caught", kind, p.Name, from-p.Offset, to-p.Offset)
		}
	}
	var biases []*Param
	for _, l := range m.Layers {
		switch r := l.rec.(type) {
		case *conv2d:
			if r.bias != nil {
				biases = append(biases, r.bias)
			}
		case *dense:
			biases = append(biases, r.bias)
			for at := r.kernel.Offset; at < r.kernel.Offset+r.kernel.Size(); at += r.units {
				plant("a dense kernel's row moved by one position", r.kernel, at, at+r.units, func(g []float32) {
					copy(g[at:], append(g[at+1:at+r.units:at+r.units], g[at]))
				})
			}
		}
	}
	for _, p := range biases {
		for i := p.Offset; i < p.Offset+p.Size(); i++ {
			if math.Abs(want.v[i]) > want.tol[i] {
				plant("a bias term scaled by 1.5", p, i, i+1, func(g []float32) { g[i] *= 1.5 })
			}
		}
	}
	t.Logf("planted %v", planted)
}

// bounded is reference values and how far from each a device may lie.
type bounded struct{ v, tol []float64 }

func newBounded(v []float64) bounded { return bounded{v, make([]float64, len(v))} }

// Rounded runs of the reference set the tolerances: each is spread times
// the farthest that one of roundingDraws runs moved the value.
const roundingDraws, spread = 4, 3

// widen takes in a rounded run's values.
func (b bounded) widen(rounded []float64) {
	for i, v := range rounded {
		b.tol[i] = max(b.tol[i], spread*math.Abs(v-b.v[i]))
	}
}

// bounds runs the reference exactly and rounded, and returns the exact
// loss, logits and gradients with their tolerances. It fails where a
// ReLU's or a max pool's margin lies within the tolerance of its choice:
// the device may then rightly choose otherwise.
func (r *reference) bounds(t *testing.T, m *Model, images []byte, labels []int) (loss, logits, grads bounded) {
	r.rounding = nil
	r.step(m, images, labels, true)
	loss, logits, grads = newBounded([]float64{r.loss}), newBounded(r.logits), newBounded(r.grads)
	margins := newBounded(r.margins)
	for k := range roundingDraws {
		r.rounding = ref.NewRounding(uint64(k))
		r.step(m, images, labels, true)
		loss.widen([]float64{r.loss})
		logits.widen(r.logits)
		grads.widen(r.grads)
		margins.widen(r.margins)
	}
	r.rounding = nil
	near := 0
	for i, v := range margins.v {
		if margins.tol[i] > 0 && math.Abs(v) <= margins.tol[i] {
			near++
		}
	}
	if near > 0 {
		t.Fatalf("%d ReLU inputs or max-pool windows lie within float32 rounding of another choice, which the device may rightly make: choose other seeds", near)
	}
	return loss, logits, grads
}

// run runs the step on the device and its reference, checks the device's
// loss and the logits of the real samples, and returns the device's
// gradients and the reference's.
func (c gradientStep) run(t *testing.T) (*Model, []float32, bounded) {
	t.Helper()
	const batch, samples = 4, 6
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	net := newTestNet(t, ctx, c.spec, batch, 3)
	m := net.Model
	params := randomParams(m, c.seed)
	if err := net.SetParams(params); err != nil {
		t.Fatal(err)
	}
	images, labels := randomSet(rng, samples)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	indices := c.indices
	feed := Feed{Counter: 7, Seed: 11, Indices: indices}
	if err := net.ResetTotals(); err != nil {
		t.Fatal(err)
	}
	if err := net.Step(set, ModeGradient, augment.Sampling{}, feed); err != nil {
		t.Fatal(err)
	}
	loss, _, n, err := net.Totals()
	if err != nil || n != len(indices) {
		t.Fatalf("totals: %d samples, %v", n, err)
	}
	grads, err := net.Gradients()
	if err != nil {
		t.Fatal(err)
	}
	logits, err := net.Logits()
	if err != nil {
		t.Fatal(err)
	}
	batchImages, batchLabels := batchOf(m, images, labels, indices, batch)
	r := &reference{batch: batch, valid: len(indices), seed: feed.Seed, counter: feed.Counter, params: ref.Float64s(params)}
	wantLoss, wantLogits, wantGrads := r.bounds(t, m, batchImages, batchLabels)
	failOn(t, append(mismatches("loss", []float32{float32(loss)}, wantLoss, 0, 1),
		mismatches("logits", logits, wantLogits, 0, len(indices)*m.Classes)...))
	return m, grads, wantGrads
}

// batchOf returns the images and labels of a batch of the samples
// indices lists, padded to batch with a sample other than the device's
// padding (which repeats the last real one): neither may count.
func batchOf(m *Model, images []byte, labels []uint8, indices []int, batch int) ([]byte, []int) {
	size := m.Input().Size()
	var batchImages []byte
	var batchLabels []int
	for i := range batch {
		s := (indices[len(indices)-1] + 1) % len(labels)
		if i < len(indices) {
			s = indices[i]
		}
		batchImages = append(batchImages, images[s*size:(s+1)*size]...)
		batchLabels = append(batchLabels, int(labels[s]))
	}
	return batchImages, batchLabels
}

// failOn fails the test where bad lists values outside their tolerance,
// with the first few.
func failOn(t *testing.T, bad []string) {
	t.Helper()
	if len(bad) > 0 {
		t.Errorf("%d values outside their tolerance:\n%s", len(bad), strings.Join(bad[:min(len(bad), 6)], "\n"))
	}
}

// gradientMismatches lists the elements of the trainable tensors whose
// device gradient lies outside the reference's tolerance.
func gradientMismatches(m *Model, grads []float32, want bounded) []string {
	var out []string
	for _, p := range m.Params {
		if p.Trainable {
			out = append(out, mismatches(p.Name, grads, want, p.Offset, p.Offset+p.Size())...)
		}
	}
	return out
}

// mismatches lists the elements from..to of got outside want's
// tolerances, as "name[i]: device got, reference want ± tolerance", i
// counted from from.
func mismatches(name string, got []float32, want bounded, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		if d := math.Abs(float64(got[i]) - want.v[i]); !(d <= want.tol[i]) {
			out = append(out, fmt.Sprintf("%s[%d]: device %.9g, reference %.9g ± %.3g", name, i-from, got[i], want.v[i], want.tol[i]))
		}
	}
	return out
}

package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// Shape is one sample's tensor shape, NHWC without N; a flat vector is
// 1 x 1 x C.
type Shape struct{ H, W, C int }

// Size is the number of values in one sample.
func (s Shape) Size() int { return s.H * s.W * s.C }

// Geometry is the shape as the images of a data set have it.
func (s Shape) Geometry() augment.Geometry {
	return augment.Geometry{Width: s.W, Height: s.H, Channels: s.C}
}

func (s Shape) String() string {
	if s.H == 1 && s.W == 1 {
		return fmt.Sprintf("(None, %d)", s.C)
	}
	return fmt.Sprintf("(None, %d, %d, %d)", s.H, s.W, s.C)
}

// Param is one weight tensor: its Keras name and shape, where it lives in
// the model's weight vector and how it starts. Adam trains the trainable
// ones; the others (batch normalization's moving statistics) are state
// the layer updates itself, non-trainable parameters as Keras calls them.
// A frozen parameter is one of a layer that Keras marks trainable: false:
// its gradient is computed, as the layer's input gradient may need it,
// but Adam leaves it as it is, and it counts as non-trainable.
type Param struct {
	Name          string
	Shape         []int
	Offset        int // in floats
	Init          Initializer
	FanIn, FanOut int // for variance scaling; 0: Keras' fans of the shape
	Trainable     bool
	Frozen        bool
}

// Size is the number of floats in the parameter.
func (p *Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Layer is a layer with its inputs, shapes and parameters resolved.
type Layer struct {
	Spec LayerSpec
	// Inputs are the tensors it reads (0 the model's input, j+1 layer j's
	// output), Ins their shapes; In is the first's.
	Inputs  []int
	Ins     []Shape
	In, Out Shape
	// Params are its tensors in Keras' order (a batch normalization's
	// gamma, beta, moving_mean, moving_variance).
	Params []*Param
	kind   *kind
	rec    recorder
}

// Class is the layer's Keras class name.
func (l *Layer) Class() string { return l.kind.class }

// A kind is a layer type of model.json. Each has its own file (conv2d.go,
// dense.go, ...) that registers it under its type name, which appears
// nowhere else but in the presets.
type kind struct {
	class  string // Keras' class name
	prefix string // Keras' default layer names: prefix_1, prefix_2, ...
	// fields are the LayerSpec fields it takes, by their JSON names.
	fields []string
	// flat says its output is a vector, which no convolution may follow.
	flat bool
	// joins says it may read several inputs (add, concatenate).
	joins bool
	// zeros says its padding is amounts of zeros (zeropadding2d), not
	// "same" or "valid".
	zeros bool
	// keras are the Keras config entries of its class that model.json has
	// no field for, each with the values (JSON) vkcnn implements.
	keras map[string][]string
	// build checks the layer's spec against its input, sets its output
	// shape and adds its parameters.
	build func(b *builder) (recorder, error)
}

var kinds = map[string]*kind{}

// register adds a layer type; each kind's file calls it from init.
func register(name string, k kind) { kinds[name] = &k }

// LayerTypes are the layer types of model.json, sorted.
func LayerTypes() []string {
	var names []string
	for name := range kinds {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// kindNames lists the layer types, for messages.
func kindNames() string { return strings.Join(LayerTypes(), ", ") }

// builder is what a kind's build works on.
type builder struct {
	l *Layer
	// last says the layer is the model's last; flat, that its input is a
	// vector (after a flatten or dense layer).
	last, flat bool
}

func (b *builder) spec() LayerSpec { return b.l.Spec }
func (b *builder) in() Shape       { return b.l.In }

// inputName names the layer's input k as its spec does.
func (b *builder) inputName(k int) string {
	if names := b.l.Spec.Inputs; k < len(names) {
		return names[k]
	}
	return "the layer before"
}

// param adds a parameter tensor to the layer, named layer.name, starting
// as the layer's spec initializes it or else as init does; a trainable
// one of a layer whose spec says trainable: false is frozen.
func (b *builder) param(name string, shape []int, init Initializer, trainable bool) *Param {
	if spec, ok := b.l.Spec.Initializers[name]; ok {
		init = spec
	}
	frozen := trainable && b.l.Spec.Trainable != nil && !*b.l.Spec.Trainable
	p := &Param{Name: b.l.Spec.Name + "." + name, Shape: shape, Init: init, Trainable: trainable && !frozen, Frozen: frozen}
	b.l.Params = append(b.l.Params, p)
	return p
}

// glorot adds a trainable kernel, initialised Glorot-uniform.
func (b *builder) glorot(name string, shape []int, fanIn, fanOut int) *Param {
	p := b.param(name, shape, GlorotUniform, true)
	p.FanIn, p.FanOut = fanIn, fanOut
	return p
}

// recorder is what a layer records on a network, and what it needs there.
type recorder interface {
	// needs is what the layer needs on a network at a batch size beyond
	// its parameters; first says it reads the model's input, whose
	// gradient it does not compute.
	needs(batch int, first bool, t kernels.Tuning) needs
	// forward records the layer's output p.out from p.in. A layer that
	// passes its input on unchanged sets p.out to p.in.
	forward(p *pass) error
	// backward records the gradients of the layer's parameters and, where
	// p.dIn is set (not in the first layer), of its input, and marks its
	// parts for profiling.
	backward(p *pass) error
	// products are the GEMM-shaped launches of its training step, in the
	// order forward and backward record them.
	products(batch int, first bool) []product
}

// needs is what a layer needs on a network beyond its parameters.
type needs struct {
	// passesOn says its output is its input, the same buffer (flatten).
	passesOn bool
	// gradientInPlace says its input gradient overwrites its output
	// gradient, in the same buffer. Where other layers read its input too,
	// the network adds that buffer to theirs (see plan).
	gradientInPlace bool
	// own are the floats of each buffer of its own.
	own []int
	// colSum and split are the floats of the network's shared column-sum
	// and split-K scratch it uses.
	colSum, split int
}

// product is a GEMM-shaped launch of a layer, named by its pass.
type product struct {
	pass string // "forward", "kernel gradient", ...
	kernels.Product
}

// pass is one layer's part of a recording.
type pass struct {
	n    *Net
	rec  *vk.Recording
	l    *Layer
	mode Mode
	own  []*vk.Buffer // the layer's own buffers, as needs lists them
	// in and out are the layer's input and output values; dIn and dOut
	// their gradients in backward (dIn unset where the input is the
	// model's). ins and dIns are every input's, in and dIn the first's.
	in, out, dIn, dOut vk.Range
	ins, dIns          []vk.Range
	backward           bool
	flops              float64 // of the products since the last mark
}

func (p *pass) ctx() *vk.Context { return p.n.ctx }
func (p *pass) batch() int       { return p.n.Batch }

// values is the number of floats of the layer's input and output in the
// batch.
func (p *pass) values() (in, out int) { return p.batch() * p.l.In.Size(), p.batch() * p.l.Out.Size() }

// param and grad are a parameter's values and gradient.
func (p *pass) param(q *Param) vk.Range { return p.n.paramRange(p.n.params, q) }
func (p *pass) grad(q *Param) vk.Range  { return p.n.paramRange(p.n.grads, q) }

// header holds the step's counter, seed and number of valid samples.
func (p *pass) header() vk.Range       { return p.n.header() }
func (p *pass) splitScratch() vk.Range { return whole(p.n.splitScratch) }

// inputGradient says whether backward computes the input's gradient.
func (p *pass) inputGradient() bool { return p.dIn.Buf != nil }

// gemm returns the product g of the layer's pass as tuning runs it, noting
// that the step records it.
func (p *pass) gemm(name string, g kernels.Gemm) kernels.Gemm {
	p.note(name, g)
	return p.n.Tuning.Gemm(g)
}

// conv returns a pass of the layer's convolution as tuning runs it, noting
// that the step records it.
func (p *pass) conv(name string, c kernels.Conv, cp kernels.ConvPass) kernels.Conv {
	p.note(name, kernels.ConvProduct{Conv: c, Pass: cp})
	return p.n.Tuning.Conv(c, cp)
}

func (p *pass) note(name string, prod kernels.Product) {
	p.flops += prod.FLOPs()
	p.n.recorded = append(p.n.recorded, recordedProduct{p.l.Spec.Name + " " + name, prod})
}

// colSum records a bias gradient: the sums of dOut's columns.
func (p *pass) colSum(bias *Param) error {
	_, out := p.values()
	c := p.l.Out.C
	return kernels.ColSum(p.ctx(), p.rec, p.dOut, p.grad(bias), whole(p.n.colSumScratch), out/c, c)
}

// reluBackward zeroes the output gradient where a fused ReLU cut the
// output, in place.
func (p *pass) reluBackward() error {
	_, out := p.values()
	return kernels.ReLUBackward(p.ctx(), p.rec, p.out, p.dOut, out)
}

// mark times the layer's work recorded since the last mark, when
// profiling, under the layer's name and label; the rate is in FLOPs for
// GEMM-shaped work, else in the bytes of values it reads and writes.
func (p *pass) mark(label string) error {
	in, out := p.values()
	bytes := 4 * float64(in+out)
	if p.backward {
		bytes = 4 * float64(in+2*out) // read out and dOut, write dIn
	}
	flops := p.flops
	p.flops = 0
	return p.n.mark(p.rec, p.l.Spec.Name+" "+label, flops, bytes)
}

// KerasClass is how a layer of a Keras class reads as a model.json layer.
type KerasClass struct {
	Type string // the layer type
	// Fields are the model.json fields the type takes, which Keras' config
	// names alike.
	Fields []string
	// Fixed are config entries model.json has no field for, each with the
	// values (JSON) vkcnn implements.
	Fixed map[string][]string
}

// KerasClassOf finds the layer type that registers a Keras class.
func KerasClassOf(class string) (KerasClass, bool) {
	for name, k := range kinds {
		if k.class == class {
			return KerasClass{Type: name, Fields: k.fields, Fixed: k.keras}, true
		}
	}
	return KerasClass{}, false
}

// KerasClasses are the Keras classes of the layer types, sorted.
func KerasClasses() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.class)
	}
	slices.Sort(out)
	return out
}

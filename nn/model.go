package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"vkcnn/mnist"
)

// Shape is one sample's tensor shape, NHWC without N; a flat vector is
// 1 x 1 x C.
type Shape struct{ H, W, C int }

// Size is the number of values in one sample.
func (s Shape) Size() int { return s.H * s.W * s.C }

func (s Shape) String() string {
	if s.H == 1 && s.W == 1 {
		return fmt.Sprintf("(None, %d)", s.C)
	}
	return fmt.Sprintf("(None, %d, %d, %d)", s.H, s.W, s.C)
}

// Param is one parameter tensor: its Keras name and shape, and where it
// lives in the model's contiguous parameter vector.
type Param struct {
	Name   string
	Shape  []int
	Offset int // in floats
	// Glorot-uniform fan-in and fan-out; zero for biases (zero-initialised).
	FanIn, FanOut int
}

// Size is the number of floats in the parameter.
func (p *Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Layer is a layer with its shapes and parameters resolved.
type Layer struct {
	Spec         LayerSpec
	In, Out      Shape
	Kernel, Bias *Param
	ReLU         bool // fused ReLU (conv2d, dense, relu layers)
}

// Model is a built sequential model: layers with shapes, parameters laid
// out in one vector, and logits as the last layer's output (the final
// softmax is fused into the loss).
type Model struct {
	Spec   ModelSpec
	Layers []*Layer
	Params []*Param
	// ParamFloats is the length of the parameter vector, each tensor
	// starting at a multiple of paramAlign floats.
	ParamFloats int
	Classes     int
}

// Limits that keep every size a sane int32 on the device.
const (
	maxDim    = 1 << 16
	maxKernel = 31
	maxValues = 1 << 30
)

// paramAlign keeps every parameter tensor at an offset that any device's
// storage-buffer alignment accepts (256 bytes is the largest Vulkan allows).
const paramAlign = 64

// Build resolves a spec: names, shapes and parameters. It rejects what
// vkcnn cannot train.
func Build(spec ModelSpec) (*Model, error) {
	in := Shape{spec.Input[0], spec.Input[1], spec.Input[2]}
	if in.H <= 0 || in.W <= 0 || in.C <= 0 || in.H > maxDim || in.W > maxDim || in.C > maxDim {
		return nil, fmt.Errorf("input shape %v: each side must lie in 1..%d", spec.Input, maxDim)
	}
	if len(spec.Layers) == 0 {
		return nil, fmt.Errorf("the model has no layers")
	}
	m := &Model{Spec: spec}
	counts := map[string]int{}
	named := map[string]int{} // layer numbers by name
	cur := in
	for i, ls := range spec.Layers {
		l := &Layer{Spec: ls, In: cur}
		counts[ls.Type]++
		if l.Spec.Name == "" {
			l.Spec.Name = fmt.Sprintf("%s_%d", kerasPrefix(ls.Type), counts[ls.Type])
		}
		where := fmt.Sprintf("layer %d (%s)", i+1, l.Spec.Name)
		if err := checkName(l.Spec.Name, ls.Name == "", named[l.Spec.Name]); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		named[l.Spec.Name] = i + 1
		last := i == len(spec.Layers)-1
		activation := func() error {
			switch ls.Activation {
			case "", "linear":
			case "relu":
				l.ReLU = true
			case "softmax":
				if !last || ls.Type != "dense" {
					return fmt.Errorf("%s: softmax is only supported on the last layer, a dense layer", where)
				}
			default:
				return fmt.Errorf("%s: unknown activation %q (relu, softmax or linear)", where, ls.Activation)
			}
			return nil
		}
		switch ls.Type {
		case "conv2d":
			if ls.Filters <= 0 || ls.KernelSize <= 0 || ls.KernelSize%2 == 0 {
				return nil, fmt.Errorf("%s: needs filters > 0 and an odd kernel_size (got %d, %d)", where, ls.Filters, ls.KernelSize)
			}
			if cur.H == 1 && cur.W == 1 && i > 0 && spec.Layers[i-1].Type == "flatten" {
				return nil, fmt.Errorf("%s: a convolution after flatten", where)
			}
			if err := activation(); err != nil {
				return nil, err
			}
			k := ls.KernelSize
			l.Out = Shape{cur.H, cur.W, ls.Filters}
			l.Kernel = &Param{Name: l.Spec.Name + ".kernel", Shape: []int{k, k, cur.C, ls.Filters}, FanIn: k * k * cur.C, FanOut: k * k * ls.Filters}
			l.Bias = &Param{Name: l.Spec.Name + ".bias", Shape: []int{ls.Filters}}
		case "maxpool2d":
			if cur.H < 2 || cur.W < 2 {
				return nil, fmt.Errorf("%s: input %v is too small to pool", where, cur)
			}
			l.Out = Shape{cur.H / 2, cur.W / 2, cur.C}
		case "dense":
			if ls.Units <= 0 {
				return nil, fmt.Errorf("%s: needs units > 0", where)
			}
			if cur.H != 1 || cur.W != 1 {
				return nil, fmt.Errorf("%s: input %v is not flat (add a flatten layer)", where, cur)
			}
			if err := activation(); err != nil {
				return nil, err
			}
			l.Out = Shape{1, 1, ls.Units}
			l.Kernel = &Param{Name: l.Spec.Name + ".kernel", Shape: []int{cur.C, ls.Units}, FanIn: cur.C, FanOut: ls.Units}
			l.Bias = &Param{Name: l.Spec.Name + ".bias", Shape: []int{ls.Units}}
		case "relu":
			l.ReLU = true
			l.Out = cur
		case "dropout":
			if ls.Rate < 0 || ls.Rate >= 1 || math.IsNaN(ls.Rate) {
				return nil, fmt.Errorf("%s: rate %g outside [0, 1)", where, ls.Rate)
			}
			l.Out = cur
		case "flatten":
			l.Out = Shape{1, 1, cur.Size()}
		case "softmax":
			return nil, fmt.Errorf("%s: write the softmax as the last dense layer's activation", where)
		default:
			return nil, fmt.Errorf("%s: unknown layer type %q (conv2d, maxpool2d, dense, relu, dropout, flatten)", where, ls.Type)
		}
		if ls.Filters > maxDim || ls.Units > maxDim || ls.KernelSize > maxKernel {
			return nil, fmt.Errorf("%s: filters, units (at most %d) or kernel_size (at most %d) too large", where, maxDim, maxKernel)
		}
		if int64(l.Out.H)*int64(l.Out.W)*int64(l.Out.C) > maxValues {
			return nil, fmt.Errorf("%s: output %v has more than %d values a sample", where, l.Out, maxValues)
		}
		if ls.Type != "conv2d" && ls.Type != "dense" && ls.Activation != "" {
			return nil, fmt.Errorf("%s: a %s layer takes no activation", where, ls.Type)
		}
		for _, p := range []*Param{l.Kernel, l.Bias} {
			if p != nil {
				if n := int64(m.ParamFloats) + int64(p.Size()); n > maxValues {
					return nil, fmt.Errorf("%s: the model would have more than %d parameters", where, maxValues)
				}
				p.Offset = m.ParamFloats
				m.ParamFloats += (p.Size() + paramAlign - 1) / paramAlign * paramAlign
				m.Params = append(m.Params, p)
			}
		}
		m.Layers = append(m.Layers, l)
		cur = l.Out
	}
	last := m.Layers[len(m.Layers)-1]
	if last.Spec.Type != "dense" || last.Spec.Activation != "softmax" {
		return nil, fmt.Errorf("the last layer must be a dense layer with softmax activation (it is %s)", last.Spec.Name)
	}
	if m.Classes = last.Out.C; m.Classes != mnist.Classes {
		return nil, fmt.Errorf("the last layer has %d units; MNIST has %d classes", m.Classes, mnist.Classes)
	}
	return m, nil
}

// checkName rejects a layer name the weights files cannot hold: they name
// tensors "layer.kernel", checkpoints prefix them with "group/", and a
// name must be unique. byDefault says Build chose the name; earlier is the
// number of the layer that already has it, 0 for none.
func checkName(name string, byDefault bool, earlier int) error {
	if strings.ContainsAny(name, "/.") {
		return errors.New(`the name must not contain "/" or "." (tensor names use them as separators)`)
	}
	if earlier == 0 {
		return nil
	}
	if byDefault {
		return fmt.Errorf("the default name %s is already layer %d's; layer names must be unique (name this layer)", name, earlier)
	}
	return fmt.Errorf("layer %d has the same name; layer names must be unique", earlier)
}

func kerasPrefix(layerType string) string {
	switch layerType {
	case "conv2d":
		return "conv2d"
	case "maxpool2d":
		return "max_pooling2d"
	}
	return layerType
}

// Input is the model's input shape.
func (m *Model) Input() Shape {
	return Shape{m.Spec.Input[0], m.Spec.Input[1], m.Spec.Input[2]}
}

// CountParams is the number of trainable parameters.
func (m *Model) CountParams() int {
	n := 0
	for _, p := range m.Params {
		n += p.Size()
	}
	return n
}

// Init returns Glorot-uniform kernels and zero biases, as Keras
// initialises them, laid out in the parameter vector.
func (m *Model) Init(seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x696e6974)) // second word: a fixed stream for initialisation
	v := make([]float32, m.ParamFloats)
	for _, p := range m.Params {
		if p.FanIn == 0 {
			continue
		}
		limit := math.Sqrt(6 / float64(p.FanIn+p.FanOut))
		for i := 0; i < p.Size(); i++ {
			v[p.Offset+i] = float32((2*rng.Float64() - 1) * limit)
		}
	}
	return v
}

// Summary is a Keras-style table of layers, output shapes and parameters.
func (m *Model) Summary() string {
	var b []byte
	line := func(s string) { b = append(b, s...); b = append(b, '\n') }
	rule := strings.Repeat("_", 65)
	line(rule)
	line(fmt.Sprintf("%-29s%-26s%s", "Layer (type)", "Output Shape", "Param #"))
	line(strings.Repeat("=", 65))
	for i, l := range m.Layers {
		n := 0
		for _, p := range []*Param{l.Kernel, l.Bias} {
			if p != nil {
				n += p.Size()
			}
		}
		line(fmt.Sprintf("%-29s%-26s%s", fmt.Sprintf("%s (%s)", l.Spec.Name, kerasClass(l.Spec.Type)), l.Out, commas(n)))
		if i < len(m.Layers)-1 {
			line(rule)
		}
	}
	line(strings.Repeat("=", 65))
	// Ends with the total, as the reference output does; every
	// parameter is trainable.
	line("Total params: " + commas(m.CountParams()))
	return string(b)
}

func kerasClass(layerType string) string {
	switch layerType {
	case "conv2d":
		return "Conv2D"
	case "maxpool2d":
		return "MaxPooling2D"
	case "dense":
		return "Dense"
	case "relu":
		return "ReLU"
	case "dropout":
		return "Dropout"
	case "flatten":
		return "Flatten"
	}
	return layerType
}

// commas writes n with thousands separators, as Keras does.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

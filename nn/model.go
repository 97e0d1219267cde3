package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/internal/numfmt"
)

// Model is a built sequential model: layers with shapes, parameters laid
// out in one weight vector, and logits as the last layer's output (the
// final softmax is fused into the loss).
type Model struct {
	Spec   ModelSpec
	Layers []*Layer
	// Params are every layer's tensors, in layer order.
	Params []*Param
	// ParamFloats is the length of the weight vector, each tensor starting
	// at a multiple of paramAlign floats: first the trainable tensors, the
	// TrainableFloats that Adam updates, then the non-trainable ones.
	ParamFloats, TrainableFloats int
	Classes                      int
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
	counts := map[*kind]int{}
	named := map[string]int{} // layer numbers by name
	flat := false             // the input of the next layer is a vector
	for i, ls := range spec.Layers {
		k, err := kindOf(ls)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
		l := &Layer{Spec: ls, In: in, kind: k}
		counts[k]++
		if l.Spec.Name == "" {
			l.Spec.Name = fmt.Sprintf("%s_%d", k.prefix, counts[k])
		}
		if err := checkName(l.Spec.Name, ls.Name == "", named[l.Spec.Name]); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, l.Spec.Name, err)
		}
		named[l.Spec.Name] = i + 1
		if err := l.build(i == len(spec.Layers)-1, flat); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, l.Spec.Name, err)
		}
		m.Layers = append(m.Layers, l)
		m.Params = append(m.Params, l.Params...)
		flat = k.flat || (flat && l.Out == l.In)
		in = l.Out
	}
	if err := m.layOut(); err != nil {
		return nil, err
	}
	return m, m.checkOutput()
}

// kindOf finds the layer's kind and checks that it sets only the fields
// the kind takes.
func kindOf(ls LayerSpec) (*kind, error) {
	k, ok := kinds[ls.Type]
	if !ok {
		if ls.Type == "softmax" {
			return nil, errors.New("write the softmax as the last dense layer's activation")
		}
		return nil, fmt.Errorf("unknown layer type %q (%s)", ls.Type, kindNames())
	}
	for _, field := range ls.fieldsSet() {
		if !slices.Contains(k.fields, field) {
			return nil, fmt.Errorf("a %s layer takes no %s", ls.Type, field)
		}
	}
	return k, nil
}

// build resolves the layer by its kind: its output shape and parameters.
func (l *Layer) build(last, flat bool) error {
	var err error
	if l.rec, err = l.kind.build(&builder{l: l, last: last, flat: flat}); err != nil {
		return err
	}
	if int64(l.Out.H)*int64(l.Out.W)*int64(l.Out.C) > maxValues {
		return fmt.Errorf("output %v has more than %d values a sample", l.Out, maxValues)
	}
	return nil
}

// layOut places the parameters in the weight vector: the trainable ones
// first, so that Adam's vector is a prefix of it.
func (m *Model) layOut() error {
	for _, trainable := range []bool{true, false} {
		for _, p := range m.Params {
			if p.Trainable != trainable {
				continue
			}
			if n := int64(m.ParamFloats) + int64(p.Size()); n > maxValues {
				return fmt.Errorf("the model would have more than %d parameters", maxValues)
			}
			p.Offset = m.ParamFloats
			m.ParamFloats += (p.Size() + paramAlign - 1) / paramAlign * paramAlign
		}
		if trainable {
			m.TrainableFloats = m.ParamFloats
		}
	}
	return nil
}

// checkOutput checks that the model ends in the softmax the loss fuses:
// its units are the classes (a data set's are checked when it is loaded).
func (m *Model) checkOutput() error {
	last := m.Layers[len(m.Layers)-1]
	if last.Spec.Activation != "softmax" {
		return fmt.Errorf("the last layer must be a dense layer with softmax activation (it is %s)", last.Spec.Name)
	}
	m.Classes = last.Out.C
	return nil
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

// Input is the model's input shape.
func (m *Model) Input() Shape {
	return Shape{m.Spec.Input[0], m.Spec.Input[1], m.Spec.Input[2]}
}

// CountParams is the number of parameters, trainable or not.
func (m *Model) CountParams() int { return countParams(m.Params, false) }

// CountTrainable is the number of parameters Adam trains.
func (m *Model) CountTrainable() int { return countParams(m.Params, true) }

func countParams(params []*Param, trainableOnly bool) int {
	n := 0
	for _, p := range params {
		if p.Trainable || !trainableOnly {
			n += p.Size()
		}
	}
	return n
}

// Init returns the weight vector as Keras initialises it: Glorot-uniform
// kernels, zero biases, batch normalization's gamma and moving variance
// one and its beta and moving mean zero.
func (m *Model) Init(seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x696e6974)) // second word: a fixed stream for initialisation
	v := make([]float32, m.ParamFloats)
	for _, p := range m.Params {
		values := v[p.Offset : p.Offset+p.Size()]
		switch p.Init {
		case Ones:
			for i := range values {
				values[i] = 1
			}
		case GlorotUniform:
			limit := math.Sqrt(6 / float64(p.FanIn+p.FanOut))
			for i := range values {
				values[i] = float32((2*rng.Float64() - 1) * limit)
			}
		}
	}
	return v
}

// Summary is a Keras-style table of layers, output shapes and parameters,
// ending as Keras' does with the total, trainable and non-trainable counts.
func (m *Model) Summary() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	rule := strings.Repeat("_", 65)
	line(rule)
	line(summaryRow("Layer (type)", "Output Shape", "Param #"))
	line(strings.Repeat("=", 65))
	for i, l := range m.Layers {
		name := fmt.Sprintf("%s (%s)", l.Spec.Name, l.Class())
		line(summaryRow(name, l.Out.String(), numfmt.Commas(countParams(l.Params, false))))
		if i < len(m.Layers)-1 {
			line(rule)
		}
	}
	line(strings.Repeat("=", 65))
	total, trainable := m.CountParams(), m.CountTrainable()
	line("Total params: " + numfmt.Commas(total))
	line("Trainable params: " + numfmt.Commas(trainable))
	line("Non-trainable params: " + numfmt.Commas(total-trainable))
	line(rule)
	return b.String()
}

// summaryRow lays out a row of the summary as Keras' print_row does: each
// field starts at its column and is cut short one character before the
// next column starts.
func summaryRow(fields ...string) string {
	ends := []int{29, 55, 65}
	line := ""
	for i, f := range fields {
		if i > 0 {
			line = line[:len(line)-1] + " "
		}
		line += f
		line = line[:min(len(line), ends[i])]
		line += strings.Repeat(" ", ends[i]-len(line))
	}
	return strings.TrimRight(line, " ")
}

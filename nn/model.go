package nn

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/internal/numfmt"
)

// Model is a built model: layers with their inputs and shapes,
// parameters laid out in one weight vector, and logits as the last
// layer's output (the final softmax is fused into the loss).
type Model struct {
	Spec   ModelSpec
	Layers []*Layer
	// readers lists, for each tensor (0 the input, i+1 layer i's output),
	// the layers that read it, in order.
	readers [][]int
	named   map[string]int // layer indices by name
	// Params are every layer's tensors, in layer order.
	Params []*Param
	// ParamFloats is the length of the weight vector, each tensor starting
	// at a multiple of paramAlign floats: first the trainable tensors, the
	// TrainableFloats that Adam updates, then the frozen ones, which with
	// them make the GradientFloats that have gradients, then the others.
	ParamFloats, TrainableFloats, GradientFloats int
	Classes                                      int
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

// Build resolves a spec: names, inputs, shapes and parameters. It
// rejects what vkcnn cannot train.
func Build(spec ModelSpec) (*Model, error) {
	in := Shape{spec.Input[0], spec.Input[1], spec.Input[2]}
	if in.H <= 0 || in.W <= 0 || in.C <= 0 || in.H > maxDim || in.W > maxDim || in.C > maxDim {
		return nil, fmt.Errorf("input shape %v: each side must lie in 1..%d", spec.Input, maxDim)
	}
	if len(spec.Layers) == 0 {
		return nil, fmt.Errorf("the model has no layers")
	}
	m := &Model{Spec: spec, readers: make([][]int, len(spec.Layers)+1)}
	if err := m.name(); err != nil {
		return nil, err
	}
	shapes := []Shape{in}
	flats := []bool{false} // whether each tensor is a vector (after a flatten or dense layer)
	for i, l := range m.Layers {
		var err error
		if l.Inputs, err = m.inputs(i); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, l.Spec.Name, err)
		}
		flat := false
		for _, t := range l.Inputs {
			l.Ins = append(l.Ins, shapes[t])
			flat = flat || flats[t]
			m.readers[t] = append(m.readers[t], i)
		}
		l.In = l.Ins[0]
		if err := l.build(i == len(m.Layers)-1, flat); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i+1, l.Spec.Name, err)
		}
		m.Params = append(m.Params, l.Params...)
		shapes = append(shapes, l.Out)
		flats = append(flats, l.kind.flat || (flat && l.Out.H == 1 && l.Out.W == 1))
	}
	for i, l := range m.Layers[:len(m.Layers)-1] {
		if len(m.readers[i+1]) == 0 {
			return nil, fmt.Errorf("layer %d (%s): no layer reads its output (only the last layer's output is the model's)", i+1, l.Spec.Name)
		}
	}
	if err := m.layOut(); err != nil {
		return nil, err
	}
	m.fuse()
	return m, m.checkOutput()
}

// name finds every layer's kind and gives it its name: its own or Keras'
// default one.
func (m *Model) name() error {
	counts := map[*kind]int{}
	m.named = map[string]int{} // layer indices by name
	graph := m.Spec.Format == GraphFormat
	for i, ls := range m.Spec.Layers {
		k, err := kindOf(ls)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		l := &Layer{Spec: ls, kind: k}
		counts[k]++
		if l.Spec.Name == "" {
			l.Spec.Name = fmt.Sprintf("%s_%d", k.prefix, counts[k])
		}
		earlier := 0
		if j, ok := m.named[l.Spec.Name]; ok {
			earlier = j + 1
		}
		if err := checkName(l.Spec.Name, ls.Name == "", earlier); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i+1, l.Spec.Name, err)
		}
		switch {
		case graph && l.Spec.Name == InputName:
			return fmt.Errorf("layer %d (%s): a graph's inputs name the model's input %q: name the layer otherwise", i+1, l.Spec.Name, InputName)
		case !graph && len(ls.Inputs) > 0:
			return fmt.Errorf("layer %d (%s): a layer names its inputs in a %q model, not a %q one", i+1, l.Spec.Name, GraphFormat, m.Spec.Format)
		}
		m.named[l.Spec.Name] = i
		m.Layers = append(m.Layers, l)
	}
	return nil
}

// inputs resolves the inputs layer i names to tensors: 0 is the model's
// input, j+1 layer j's output. Each must come before the layer.
func (m *Model) inputs(i int) ([]int, error) {
	l := m.Layers[i]
	names := l.Spec.Inputs
	if len(names) == 0 {
		return []int{i}, nil // the layer before, or the input
	}
	var out []int
	for k, name := range names {
		if slices.Contains(names[:k], name) {
			return nil, fmt.Errorf("input %q is named twice", name)
		}
		if name == InputName {
			out = append(out, 0)
			continue
		}
		j, ok := m.named[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("input %q is no layer's name (the inputs are %q and earlier layers)", name, InputName)
		case j >= i:
			if path := m.cycle(i, j); path != nil {
				return nil, fmt.Errorf("input %q makes a cycle: %s", name, strings.Join(path, " -> "))
			}
			return nil, fmt.Errorf("input %q comes after it: a layer must follow the layers it reads", name)
		}
		out = append(out, j+1)
	}
	if len(out) > 1 && !l.kind.joins {
		return nil, fmt.Errorf("a %s layer takes one input (it names %d)", l.Spec.Type, len(out))
	}
	return out, nil
}

// cycle returns, where layer to would read layer from's output and from
// reads to's through its inputs, the layers' names in the order values
// flow round the cycle: nil if there is none.
func (m *Model) cycle(to, from int) []string {
	seen := map[int]bool{}
	var walk func(j int) []string
	walk = func(j int) []string {
		if j == to {
			return []string{m.Layers[to].Spec.Name}
		}
		if seen[j] {
			return nil
		}
		seen[j] = true
		reads := m.Layers[j].Spec.Inputs
		if len(reads) == 0 && j > 0 {
			reads = []string{m.Layers[j-1].Spec.Name}
		}
		for _, name := range reads {
			if k, ok := m.named[name]; ok {
				if path := walk(k); path != nil {
					return append(path, m.Layers[j].Spec.Name)
				}
			}
		}
		return nil
	}
	path := walk(from) // to, ..., from
	if path == nil {
		return nil
	}
	return append(path, m.Layers[to].Spec.Name)
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
	if k.zeros && ls.Padding != "" {
		return nil, fmt.Errorf("padding %q: a %s layer's padding is numbers of zeros", ls.Padding, ls.Type)
	}
	if !k.zeros && ls.ZeroPadding != nil {
		return nil, fmt.Errorf("padding %v: a %s layer's padding is \"same\" or \"valid\"", *ls.ZeroPadding, ls.Type)
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
	for _, name := range slices.Sorted(maps.Keys(l.Spec.Initializers)) {
		if !slices.ContainsFunc(l.Params, func(p *Param) bool { return p.Name == l.Spec.Name+"."+name }) {
			return fmt.Errorf("an initializer for %s, which the layer does not have (it has %s)", name, l.paramNames())
		}
		if err := l.Spec.Initializers[name].check(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// paramNames lists the layer's parameters by their short names.
func (l *Layer) paramNames() string {
	if len(l.Params) == 0 {
		return "no parameters"
	}
	var names []string
	for _, p := range l.Params {
		names = append(names, strings.TrimPrefix(p.Name, l.Spec.Name+"."))
	}
	return strings.Join(names, ", ")
}

// layOut places the parameters in the weight vector: the trainable ones
// first, so that Adam's vector is a prefix of it.
func (m *Model) layOut() error {
	groups := []func(p *Param) bool{
		func(p *Param) bool { return p.Trainable },
		func(p *Param) bool { return p.Frozen },
		func(p *Param) bool { return !p.Trainable && !p.Frozen },
	}
	for g, in := range groups {
		for _, p := range m.Params {
			if !in(p) {
				continue
			}
			if n := int64(m.ParamFloats) + int64(p.Size()); n > maxValues {
				return fmt.Errorf("the model would have more than %d parameters", maxValues)
			}
			p.Offset = m.ParamFloats
			m.ParamFloats += (p.Size() + paramAlign - 1) / paramAlign * paramAlign
		}
		switch g {
		case 0:
			m.TrainableFloats = m.ParamFloats
		case 1:
			m.GradientFloats = m.ParamFloats
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

// Init returns the weight vector as the layers' initializers draw it:
// Keras' defaults (Glorot-uniform kernels, zero biases, batch
// normalization's gamma and moving variance one and its beta and moving
// mean zero) where a layer's spec names none.
func (m *Model) Init(seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x696e6974)) // second word: a fixed stream for initialisation
	v := make([]float32, m.ParamFloats)
	for _, p := range m.Params {
		p.fill(v[p.Offset:p.Offset+p.Size()], rng)
	}
	return v
}

// Summary is a Keras-style table of layers, output shapes and parameters,
// ending as Keras' does with the total, trainable and non-trainable counts.
// A graph model's is as Keras prints a functional model's: 98 characters
// wide, its input layer first, and a Connected to column naming the
// tensors each layer reads (name[0][0]), one a row.
func (m *Model) Summary() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	ends, header := []int{29, 55, 65}, []string{"Layer (type)", "Output Shape", "Param #"}
	graph := m.Spec.Format == GraphFormat
	if graph {
		ends, header = []int{32, 53, 65, 98}, append(header, "Connected to")
	}
	width := ends[len(ends)-1]
	rule := strings.Repeat("_", width)
	line(rule)
	line(summaryRow(ends, header...))
	line(strings.Repeat("=", width))
	if graph {
		line(summaryRow(ends, InputName+" (InputLayer)", m.Input().String(), "0"))
		line(rule)
	}
	for i, l := range m.Layers {
		fields := []string{fmt.Sprintf("%s (%s)", l.Spec.Name, l.Class()), l.Out.String(), numfmt.Commas(countParams(l.Params, false))}
		if !graph {
			line(summaryRow(ends, fields...))
		} else {
			for j, t := range l.Inputs {
				name := InputName
				if t > 0 {
					name = m.Layers[t-1].Spec.Name
				}
				if j > 0 {
					fields = []string{"", "", ""}
				}
				line(summaryRow(ends, append(fields, name+"[0][0]")...))
			}
		}
		if i < len(m.Layers)-1 {
			line(rule)
		}
	}
	line(strings.Repeat("=", width))
	total, trainable := m.CountParams(), m.CountTrainable()
	line("Total params: " + numfmt.Commas(total))
	line("Trainable params: " + numfmt.Commas(trainable))
	line("Non-trainable params: " + numfmt.Commas(total-trainable))
	line(rule)
	return b.String()
}

// summaryRow lays out a row of the summary as Keras' print_row does: each
// field starts at its column, ending at ends, and is cut short one
// character before the next column starts.
func summaryRow(ends []int, fields ...string) string {
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

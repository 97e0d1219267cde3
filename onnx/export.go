// Package onnx writes a model's inference graph as an ONNX model, in
// ONNX's own schema (onnxpb), for ONNX Runtime and the other runtimes
// that read ONNX.
//
// ONNX's Conv, pooling and BatchNormalization take NCHW values, so the
// graph is NCHW: its input is float32 [N, C, H, W] in [0, 1] (a pixel's
// byte / 255), N dynamic, and the convolution kernels are converted from
// Keras' HWIO to ONNX's OIHW. vkcnn flattens NHWC and ONNX's Flatten NCHW,
// so the features of a flattened image reach the next layers in another
// order: the first dense layer's kernel rows (and a batch normalization's
// vectors before it) are permuted to match. Dropout, the identity in
// inference, is left out. The outputs are the softmax's probabilities and
// the logits it takes, both [N, classes].
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/onnx/onnxpb"
)

const (
	// Opset is the version of ONNX's default operator set the graph uses
	// (ONNX 1.12, 2022), which every ONNX Runtime since 1.12 runs.
	Opset = 17
	// irVersion is the file format version of ONNX 1.12, the first with
	// opset 17.
	irVersion = 8
	// Producer names vkcnn in the model; its version is the build's.
	Producer = "vkcnn"

	// The graph's input and outputs.
	Input         = "input"
	Probabilities = "probabilities"
	Logits        = "logits"
	// batchDim names the dynamic batch dimension.
	batchDim = "N"
)

// Data is what the graph's metadata says of the data set a model was
// trained on.
type Data struct {
	// ClassNames, where the data set has them, go into the metadata as
	// ClassNamesKey's value, a JSON list: the name of output j is the
	// j-th.
	ClassNames []string
	// Normalization, where the run normalized its inputs, goes into the
	// graph after the input, which stays pixels in [0, 1].
	Normalization *augment.Normalization
}

// ClassNamesKey is the metadata entry of the class names.
const ClassNamesKey = "class_names"

// WriteFile writes the inference graph of model with weights params to
// path, atomically.
func WriteFile(path string, model *nn.Model, params []float32, data Data) error {
	m, err := Export(model, params, data)
	if err != nil {
		return err
	}
	encoded, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode the ONNX model: %w", err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(encoded); return err }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Export returns the inference graph of model with weights params.
func Export(model *nn.Model, params []float32, data Data) (*onnxpb.ModelProto, error) {
	if len(params) != model.ParamFloats {
		return nil, fmt.Errorf("%d weights for a model of %d", len(params), model.ParamFloats)
	}
	in := model.Input()
	name := model.Spec.Name
	if name == "" {
		name = Producer // ONNX's checker wants the graph named
	}
	b := &builder{params: params}
	b.graph = &onnxpb.GraphProto{
		Name:   name,
		Input:  []*onnxpb.ValueInfoProto{tensorInfo(Input, in.C, in.H, in.W)},
		Output: []*onnxpb.ValueInfoProto{tensorInfo(Probabilities, model.Classes), tensorInfo(Logits, model.Classes)},
		DocString: fmt.Sprintf("input: float32 [N, %d, %d, %d] (NCHW), pixels in [0, 1]; outputs: %s and %s, float32 [N, %d]",
			in.C, in.H, in.W, Probabilities, Logits, model.Classes),
	}
	values := []value{{name: Input, spatial: true}} // by tensor: the input, then each layer's output
	if n := data.Normalization; n != nil {
		if err := n.Check(in.C); err != nil {
			return nil, err
		}
		b.value = values[0]
		b.normalize(n)
		values[0] = b.value
		b.graph.DocString += fmt.Sprintf("; normalized in the graph, (x - %v) / %v per channel", n.Mean, n.Std)
	}
	for i, l := range model.Layers {
		b.ins = b.ins[:0]
		for _, t := range l.Inputs {
			b.ins = append(b.ins, values[t])
		}
		b.value = b.ins[0]
		if err := b.layer(l, i == len(model.Layers)-1); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Spec.Name, err)
		}
		values = append(values, b.value)
	}
	if b.name != Probabilities {
		return nil, fmt.Errorf("the model does not end in a softmax")
	}
	spec, err := model.Spec.JSON()
	if err != nil {
		return nil, err
	}
	meta := []*onnxpb.StringStringEntryProto{{Key: "vkcnn_model_json", Value: string(spec)}}
	if data.ClassNames != nil {
		names, err := json.Marshal(data.ClassNames)
		if err != nil {
			return nil, err
		}
		meta = append(meta, &onnxpb.StringStringEntryProto{Key: ClassNamesKey, Value: string(names)})
	}
	return &onnxpb.ModelProto{
		IrVersion:       irVersion,
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName:    Producer,
		ProducerVersion: producerVersion(),
		DocString:       fmt.Sprintf("%s, exported by vkcnn", name),
		Graph:           b.graph,
		MetadataProps:   meta,
	}, nil
}

// producerVersion is the module version the Go toolchain stamped into the
// build (a pseudo-version from version control), or "(devel)".
func producerVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// builder appends a model's layers to a graph.
type builder struct {
	graph  *onnxpb.GraphProto
	params []float32
	// ins are the values the layer reads; value is the one its nodes so
	// far make, from the first of ins.
	ins []value
	value
	// err collects what went wrong; layer returns it.
	err error
}

// value is a value of the graph, a tensor of the model.
type value struct {
	name string
	// spatial says it is NCHW, else [N, features].
	spatial bool
	// order, after an image was flattened, is for each of ONNX's features
	// the vkcnn feature it is (nil: the same), until a dense layer mixes
	// them.
	order []int
}

// layer appends a layer's nodes, each named layer/Op after its layer and
// operator, as is its output; last says it is the model's last, whose
// outputs are the logits and probabilities.
func (b *builder) layer(l *nn.Layer, last bool) error {
	name := l.Spec.Name
	switch l.Spec.Type {
	case "conv2d":
		b.conv(l, name, "kernel", biasOf(l), nn.ConvWindows(l), l.In.C, l.Out.C, max(l.Spec.Groups, 1))
	case "depthwiseconv2d":
		b.conv(l, name, "depthwise_kernel", biasOf(l), nn.ConvWindows(l), l.In.C, l.Out.C, l.In.C)
	case "separableconv2d":
		// Two Convs: the depthwise one without a bias, then the 1x1 one.
		mid := l.In.C * max(l.Spec.DepthMultiplier, 1)
		b.conv(l, name+"/depthwise", "depthwise_kernel", "", nn.ConvWindows(l), l.In.C, mid, l.In.C)
		b.conv(l, name, "pointwise_kernel", biasOf(l), nn.Windows{KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1}, mid, l.Out.C, 1)
	case "globalavgpool2d":
		b.node("GlobalAveragePool", name, "", []string{b.name})
		b.flatten(name, nn.Shape{H: 1, W: 1, C: l.Out.C})
	case "maxpool2d", "avgpool2d":
		g := nn.PoolWindows(l)
		attrs := []*onnxpb.AttributeProto{intsAttr("kernel_shape", int64(g.KH), int64(g.KW)), intsAttr("strides", int64(g.SH), int64(g.SW))}
		if g.PadTop+g.PadLeft+g.PadBottom+g.PadRight > 0 {
			attrs = append(attrs, intsAttr("pads", int64(g.PadTop), int64(g.PadLeft), int64(g.PadBottom), int64(g.PadRight)))
		}
		op := "MaxPool"
		if l.Spec.Type == "avgpool2d" {
			// The mean of the window's real pixels, as Keras has it.
			op, attrs = "AveragePool", append(attrs, intAttr("count_include_pad", 0))
		}
		b.node(op, name, "", []string{b.name}, attrs...)
	case "globalmaxpool2d":
		b.node("GlobalMaxPool", name, "", []string{b.name})
		b.flatten(name, nn.Shape{H: 1, W: 1, C: l.Out.C})
	case "zeropadding2d":
		g := nn.PoolWindows(l)
		pads := b.int64s(name+"/pads", 0, 0, int64(g.PadTop), int64(g.PadLeft), 0, 0, int64(g.PadBottom), int64(g.PadRight))
		b.node("Pad", name, "", []string{b.name, pads})
	case "batchnorm":
		inputs := []string{b.name}
		for _, p := range []string{"gamma", "beta", "moving_mean", "moving_variance"} {
			inputs = append(inputs, b.tensor(l, p, permuted(b.order)))
		}
		_, epsilon := nn.BatchNormSettings(l.Spec)
		b.node("BatchNormalization", name, "", inputs, floatAttr("epsilon", float32(epsilon)))
	case "flatten":
		b.flatten(name, l.In)
	case "dense":
		// A 1x1 image may meet a dense layer without a flatten.
		b.flatten(name, l.In)
		kernel := b.tensor(l, "kernel", denseKernel(b.order, l.Out.C))
		out := ""
		if last {
			out = Logits
		}
		b.node("Gemm", name, out, []string{b.name, kernel, b.tensor(l, "bias", layout{})})
		b.order = nil
	case "relu":
		b.node("Relu", name, "", []string{b.name})
	case "leaky_relu":
		b.activation(name, "leaky_relu", l.Spec.Alpha)
	case "dropout", "activation":
	case "add":
		for _, in := range b.ins[1:] {
			if !slices.Equal(in.order, b.order) {
				b.err = errors.Join(b.err, errors.New("adds vectors whose features ONNX orders otherwise, which has no ONNX export"))
			}
		}
		if b.joined(name) {
			b.node("Sum", name, "", b.names())
		}
	case "concatenate":
		if b.joined(name) {
			order := b.concatOrder(l.Ins)
			b.node("Concat", name, "", b.names(), intAttr("axis", 1))
			b.order = order
		}
	default:
		return fmt.Errorf("type %q has no ONNX export", l.Spec.Type)
	}
	switch a := l.Spec.Activation; a {
	case "", "linear":
	case "softmax":
		b.node("Softmax", name, Probabilities, []string{b.name}, intAttr("axis", -1))
	default:
		b.activation(name, a, l.Spec.Alpha)
	}
	return b.err
}

// conv appends a Conv node of the layer, named node/Conv: g's kernel at
// its steps, dilation and padding, in channels to out in groups (a depthwise convolution's:
// one an input channel), with the bias where it is named. The pads are
// explicit: TensorFlow's "same" at a stride pads more below and right,
// which ONNX's SAME_UPPER would too, but spelt out every runtime reads
// them alike.
func (b *builder) conv(l *nn.Layer, node, kernel, bias string, g nn.Windows, in, out, groups int) {
	inputs := []string{b.name, b.tensor(l, kernel, convKernel(in/groups, out, g.KH, g.KW))}
	if bias != "" {
		inputs = append(inputs, b.tensor(l, bias, layout{}))
	}
	attrs := []*onnxpb.AttributeProto{intsAttr("kernel_shape", int64(g.KH), int64(g.KW)),
		intsAttr("pads", int64(g.PadTop), int64(g.PadLeft), int64(g.PadBottom), int64(g.PadRight)),
		intsAttr("strides", int64(g.SH), int64(g.SW))}
	if g.DH > 1 || g.DW > 1 {
		attrs = append(attrs, intsAttr("dilations", int64(g.DH), int64(g.DW)))
	}
	if groups > 1 {
		attrs = append(attrs, intAttr("group", int64(groups)))
	}
	b.node("Conv", node, "", inputs, attrs...)
}

// biasOf names the layer's bias, "" where it has none.
func biasOf(l *nn.Layer) string {
	if !l.Spec.Biased() {
		return ""
	}
	return "bias"
}

// joined checks that the layer's inputs can be joined as they are: all
// images, or all vectors (an add's of one feature order); else it is the
// builder's error.
func (b *builder) joined(layer string) bool {
	for _, in := range b.ins[1:] {
		if in.spatial != b.ins[0].spatial {
			b.err = errors.Join(b.err, fmt.Errorf("%s joins an image and a vector, which has no ONNX export", layer))
			return false
		}
	}
	return true
}

// names are the names of the layer's inputs.
func (b *builder) names() []string {
	var out []string
	for _, in := range b.ins {
		out = append(out, in.name)
	}
	return out
}

// concatOrder is the order of the features of a concatenation of the
// layer's inputs, of shapes ins, vectors each in its own order (nil: the
// same).
func (b *builder) concatOrder(ins []nn.Shape) []int {
	var order []int
	shifted := false
	off := 0
	for k, in := range b.ins {
		size := ins[k].Size()
		for i := range size {
			from := i
			if in.order != nil {
				from, shifted = in.order[i], true
			}
			order = append(order, off+from)
		}
		off += size
	}
	if !shifted {
		return nil
	}
	return order
}

// activation appends the layer's activation a, with alpha where it takes
// one (nn checked both). Opset 17 has no Gelu (opset 20 adds it), so GELU
// and its tanh approximation are written out in Erf, Tanh and
// arithmetic, and swish as x Sigmoid(x).
func (b *builder) activation(layer, a string, alpha *float64) {
	x := b.name
	alphaOr := func(def float32) float32 {
		if alpha == nil {
			return def
		}
		return float32(*alpha)
	}
	switch a {
	case "relu":
		b.node("Relu", layer, "", []string{x})
	case "relu6":
		b.node("Clip", layer, "", []string{x, b.constant(layer, "zero", 0), b.constant(layer, "six", 6)})
	case "leaky_relu":
		b.node("LeakyRelu", layer, "", []string{x}, floatAttr("alpha", alphaOr(0)))
	case "elu":
		b.node("Elu", layer, "", []string{x}, floatAttr("alpha", alphaOr(1)))
	case "selu":
		b.node("Selu", layer, "", []string{x}, floatAttr("alpha", 1.6732632423543772), floatAttr("gamma", 1.0507009873554805))
	case "sigmoid":
		b.node("Sigmoid", layer, "", []string{x})
	case "hard_sigmoid":
		b.node("HardSigmoid", layer, "", []string{x}, floatAttr("alpha", 0.2), floatAttr("beta", 0.5))
	case "hard_sigmoid_keras3":
		b.node("HardSigmoid", layer, "", []string{x}, floatAttr("alpha", 1.0/6), floatAttr("beta", 0.5))
	case "tanh":
		b.node("Tanh", layer, "", []string{x})
	case "softplus":
		b.node("Softplus", layer, "", []string{x})
	case "softsign":
		b.node("Softsign", layer, "", []string{x})
	case "swish", "silu":
		b.node("Mul", layer, "", []string{x, b.op("Sigmoid", layer, "sigmoid", x)})
	case "gelu":
		// x Phi(x) = x (1 + erf(x / sqrt 2)) / 2
		erf := b.op("Erf", layer, "erf", b.op("Div", layer, "scaled", x, b.constant(layer, "sqrt2", math.Sqrt2)))
		half := b.op("Mul", layer, "half", x, b.constant(layer, "one_half", 0.5))
		b.node("Mul", layer, "", []string{half, b.op("Add", layer, "one_plus", erf, b.constant(layer, "one", 1))})
	case "gelu_tanh":
		// x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2
		cube := b.op("Mul", layer, "cube", x, b.op("Mul", layer, "square", x, x))
		inner := b.op("Add", layer, "inner", x, b.op("Mul", layer, "cubic", cube, b.constant(layer, "k", 0.044715)))
		tanh := b.op("Tanh", layer, "tanh", b.op("Mul", layer, "scaled", inner, b.constant(layer, "c", float32(math.Sqrt(2/math.Pi)))))
		half := b.op("Mul", layer, "half", x, b.constant(layer, "one_half", 0.5))
		b.node("Mul", layer, "", []string{half, b.op("Add", layer, "one_plus", tanh, b.constant(layer, "one", 1))})
	default:
		b.err = errors.Join(b.err, fmt.Errorf("activation %q has no ONNX export", a))
	}
}

// op appends an operator named layer/name, which a layer may have several
// of, and returns its output, of the same name; the graph's value stays.
func (b *builder) op(op, layer, name string, inputs ...string) string {
	out := layer + "/" + name
	b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{OpType: op, Name: out, Input: inputs, Output: []string{out}})
	return out
}

// constant adds a float32 scalar initializer named layer/name and returns
// its name.
func (b *builder) constant(layer, name string, v float32) string {
	full := layer + "/" + name
	b.graph.Initializer = append(b.graph.Initializer, &onnxpb.TensorProto{
		Name: full, DataType: int32(onnxpb.TensorProto_FLOAT), RawData: binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)),
	})
	return full
}

// int64s adds an int64 vector initializer and returns its name.
func (b *builder) int64s(name string, values ...int64) string {
	b.graph.Initializer = append(b.graph.Initializer, &onnxpb.TensorProto{
		Name: name, Dims: []int64{int64(len(values))}, DataType: int32(onnxpb.TensorProto_INT64), Int64Data: values,
	})
	return name
}

// flatten appends a Flatten of the value, if it is an NCHW image of shape
// in, and notes the order of its features.
func (b *builder) flatten(layer string, in nn.Shape) {
	if !b.spatial {
		return
	}
	b.node("Flatten", layer, "", []string{b.name}, intAttr("axis", 1))
	b.spatial = false
	b.order = flattenOrder(in)
}

// flattenOrder is, for each feature of an NCHW flatten of an image of
// shape s, the NHWC feature it is.
func flattenOrder(s nn.Shape) []int {
	if s.C == 1 || s.H*s.W == 1 {
		return nil
	}
	order := make([]int, 0, s.Size())
	for c := range s.C {
		for h := range s.H {
			for w := range s.W {
				order = append(order, (h*s.W+w)*s.C+c)
			}
		}
	}
	return order
}

// A layout takes one of a layer's tensors from vkcnn's layout to ONNX's:
// its shape there (nil: the same) and, for each of its values there, the
// vkcnn value it is (nil: the same). The zero layout changes nothing.
type layout struct {
	shape []int64
	from  func(i int) int
}

// convKernel is a convolution kernel's layout: Keras' HWIO [k, k, in,
// out] to ONNX's OIHW [out, in, k, k].
func convKernel(in, out, kh, kw int) layout {
	return layout{shape: []int64{int64(out), int64(in), int64(kh), int64(kw)}, from: func(i int) int {
		x, y, c, o := i%kw, i/kw%kh, i/(kh*kw)%in, i/(kh*kw*in)
		return ((y*kw+x)*in+c)*out + o
	}}
}

// denseKernel is a dense kernel's layout, [in, units] in both, its rows
// in order (nil: as they are).
func denseKernel(order []int, units int) layout {
	if order == nil {
		return layout{}
	}
	return layout{from: func(i int) int { return order[i/units]*units + i%units }}
}

// permuted is the layout of a vector in order (nil: as it is).
func permuted(order []int) layout {
	if order == nil {
		return layout{}
	}
	return layout{from: func(i int) int { return order[i] }}
}

// tensor adds the layer's parameter name as an initializer of the same
// name, in layout l, and returns its name; a parameter the layer lacks is
// the builder's error.
func (b *builder) tensor(layer *nn.Layer, name string, l layout) string {
	var p *nn.Param
	for _, q := range layer.Params {
		if q.Name == layer.Spec.Name+"."+name {
			p = q
		}
	}
	if p == nil {
		b.err = errors.Join(b.err, fmt.Errorf("no parameter %s", name))
		return ""
	}
	values := b.params[p.Offset : p.Offset+p.Size()]
	shape := l.shape
	if shape == nil {
		for _, d := range p.Shape {
			shape = append(shape, int64(d))
		}
	}
	from := l.from
	if from == nil {
		from = func(i int) int { return i }
	}
	ordered := make([]float32, len(values))
	for i := range values {
		ordered[i] = values[from(i)]
	}
	return b.initializer(p.Name, shape, ordered)
}

// initializer adds a float32 initializer and returns its name.
func (b *builder) initializer(name string, shape []int64, values []float32) string {
	raw := make([]byte, 0, 4*len(values))
	for _, v := range values {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	b.graph.Initializer = append(b.graph.Initializer, &onnxpb.TensorProto{
		Name: name, Dims: shape, DataType: int32(onnxpb.TensorProto_FLOAT), RawData: raw,
	})
	return name
}

// normalize appends the input's normalization, (x - mean) * (1 / std)
// per channel, as vkcnn's augment shader computes it.
func (b *builder) normalize(n *augment.Normalization) {
	shape := []int64{1, int64(len(n.Mean)), 1, 1}
	b.node("Sub", "normalize", "", []string{b.name, b.initializer("normalize.mean", shape, n.Mean)})
	b.node("Mul", "normalize", "", []string{b.name, b.initializer("normalize.inv_std", shape, n.InvStd())})
}

// node appends an operator of the default domain, named layer/op, whose
// output (named output, else as the node) becomes the graph's value.
func (b *builder) node(op, layer, output string, inputs []string, attrs ...*onnxpb.AttributeProto) {
	name := layer + "/" + op
	if output == "" {
		output = name
	}
	b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{
		OpType: op, Name: name, Input: inputs, Output: []string{output}, Attribute: attrs,
	})
	b.name = output
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

func intsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INTS, Ints: v}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_FLOAT, F: v}
}

// tensorInfo declares a float32 value of dimensions [N, dims...].
func tensorInfo(name string, dims ...int) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
		{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: batchDim}},
	}}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)},
		})
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(onnxpb.TensorProto_FLOAT), Shape: shape},
	}}}
}

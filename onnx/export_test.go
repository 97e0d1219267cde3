package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/onnx/onnxpb"
)

// everyLayer has a layer of every type (ONNX Runtime checks the numbers in
// cli's tests), a residual add and a concatenation among them.
var everyLayer = nn.ModelSpec{Format: nn.GraphFormat, Name: "every", Input: [3]int{12, 8, 3}, Layers: []nn.LayerSpec{
	{Type: "conv2d", Filters: 5, KernelSize: nn.Pair{3, 3}, Activation: "relu"},
	{Type: "batchnorm"},
	{Type: "add", Inputs: []string{"batch_normalization_1", "conv2d_1"}},
	{Type: "maxpool2d"},
	{Type: "conv2d", Filters: 2, KernelSize: nn.Pair{1, 1}},
	{Type: "concatenate", Inputs: []string{"max_pooling2d_1", "conv2d_2"}},
	{Type: "avgpool2d"},
	{Type: "conv2d", Filters: 4, KernelSize: nn.Pair{3, 3}, Strides: nn.Pair{2, 2}, UseBias: new(bool)},
	{Type: "activation", Activation: "tanh"},
	{Type: "depthwiseconv2d", KernelSize: nn.Pair{3, 3}, Activation: "relu"},
	{Type: "separableconv2d", Filters: 4, KernelSize: nn.Pair{3, 3}, DepthMultiplier: 2},
	{Type: "zeropadding2d", ZeroPadding: &[2][2]int{{1, 0}, {0, 2}}},
	{Type: "globalavgpool2d"},
	{Type: "globalmaxpool2d", Inputs: []string{"zero_padding2d_1"}},
	{Type: "add", Inputs: []string{"global_average_pooling2d_1", "global_max_pooling2d_1"}},
	{Type: "relu"},
	{Type: "leaky_relu", Alpha: new(0.1)},
	{Type: "flatten"},
	{Type: "batchnorm"},
	{Type: "dense", Units: 7, Activation: "relu"},
	{Type: "dropout", Rate: 0.5},
	{Type: "dense", Units: 10, Activation: "softmax"},
}}

func TestExportCoversEveryLayerType(t *testing.T) {
	var types []string
	for _, l := range everyLayer.Layers {
		types = append(types, l.Type)
	}
	slices.Sort(types)
	if got, want := slices.Compact(types), nn.LayerTypes(); !slices.Equal(got, want) {
		t.Fatalf("the test model has the layer types %q, nn has %q: add the new ones here and to export.go", got, want)
	}
	model := build(t, everyLayer)
	m := exportAndRead(t, model)
	if m.IrVersion != 8 || len(m.OpsetImport) != 1 || m.OpsetImport[0].Domain != "" || m.OpsetImport[0].Version != 17 {
		t.Errorf("IR version %d, opsets %v; want IR 8 and opset 17", m.IrVersion, m.OpsetImport)
	}
	if m.ProducerName != "vkcnn" || m.ProducerVersion == "" {
		t.Errorf("producer %q version %q", m.ProducerName, m.ProducerVersion)
	}
	g := m.Graph
	if len(g.Input) != 1 || g.Input[0].Name != "input" || dims(g.Input[0]) != "N,3,12,8" {
		t.Errorf("input %v, want input [N,3,12,8]", g.Input)
	}
	for _, n := range g.Node {
		if n.Name == "conv2d_3/Conv" {
			// TensorFlow's "same" at stride 2 from 3x2: a row above and
			// below, a column right alone.
			if got := fmt.Sprint(n.Attribute[1].Ints, n.Attribute[2].Ints); got != "[1 0 1 1] [2 2]" {
				t.Errorf("the strided convolution's pads and strides are %s, want [1 0 1 1] [2 2]", got)
			}
			if len(n.Input) != 2 {
				t.Errorf("the convolution without a bias has inputs %q", n.Input)
			}
		}
	}
	if len(g.Output) != 2 || g.Output[0].Name != "probabilities" || g.Output[1].Name != "logits" ||
		dims(g.Output[0]) != "N,10" || dims(g.Output[1]) != "N,10" {
		t.Errorf("outputs %v, want probabilities and logits [N,10]", g.Output)
	}
	var ops []string
	for _, n := range g.Node {
		ops = append(ops, n.OpType)
	}
	want := []string{"Conv", "Relu", "BatchNormalization", "Sum", "MaxPool", "Conv", "Concat", "AveragePool", "Conv", "Tanh", "Conv", "Relu", "Conv", "Conv", "Pad",
		"GlobalAveragePool", "Flatten", "GlobalMaxPool", "Flatten", "Sum", "Relu", "LeakyRelu", "BatchNormalization", "Gemm", "Relu", "Gemm", "Softmax"}
	if !slices.Equal(ops, want) {
		t.Errorf("operators %q, want %q", ops, want)
	}
	shapes := map[string][]int64{}
	for _, init := range g.Initializer {
		shapes[init.Name] = init.Dims
		if init.DataType == int32(onnxpb.TensorProto_FLOAT) && len(init.RawData) != 4*int(product(init.Dims)) {
			t.Errorf("%s: %d bytes for dimensions %v", init.Name, len(init.RawData), init.Dims)
		}
	}
	for name, want := range map[string][]int64{
		"conv2d_1.kernel": {5, 3, 3, 3}, "conv2d_2.kernel": {2, 5, 1, 1}, "conv2d_3.kernel": {4, 7, 3, 3}, "depthwise_conv2d_1.depthwise_kernel": {4, 1, 3, 3},
		"separable_conv2d_1.depthwise_kernel": {8, 1, 3, 3}, "separable_conv2d_1.pointwise_kernel": {4, 8, 1, 1},
		"batch_normalization_2.moving_variance": {4}, "dense_1.kernel": {4, 7}, "dense_2.kernel": {7, 10},
	} {
		if !slices.Equal(shapes[name], want) {
			t.Errorf("initializer %s has dimensions %v, want %v", name, shapes[name], want)
		}
	}
}

// TestExportEveryActivation: each activation's operators, in a layer of
// its own and after a convolution, every value named once (ONNX Runtime
// checks the numbers in cli's tests).
func TestExportEveryActivation(t *testing.T) {
	for name, want := range map[string][]string{
		"relu": {"Relu"}, "relu6": {"Clip"}, "leaky_relu": {"LeakyRelu"}, "elu": {"Elu"}, "selu": {"Selu"},
		"sigmoid": {"Sigmoid"}, "hard_sigmoid": {"HardSigmoid"}, "hard_sigmoid_keras3": {"HardSigmoid"}, "tanh": {"Tanh"},
		"softplus": {"Softplus"}, "softsign": {"Softsign"}, "swish": {"Sigmoid", "Mul"}, "silu": {"Sigmoid", "Mul"},
		"gelu":      {"Div", "Erf", "Mul", "Add", "Mul"},
		"gelu_tanh": {"Mul", "Mul", "Mul", "Add", "Mul", "Tanh", "Mul", "Add", "Mul"},
	} {
		var alpha *float64
		if name == "leaky_relu" {
			alpha = new(0.25)
		}
		spec := nn.ModelSpec{Format: nn.SpecFormat, Input: [3]int{1, 1, 1}, Layers: []nn.LayerSpec{
			{Type: "conv2d", Filters: 2, KernelSize: nn.Pair{3, 3}, Activation: name, Alpha: alpha},
			{Type: "activation", Activation: name, Alpha: alpha},
			{Type: "dense", Units: 10, Activation: "softmax"},
		}}
		g := exportAndRead(t, build(t, spec)).Graph
		var ops []string
		outputs := map[string]bool{g.Input[0].Name: true}
		for _, init := range g.Initializer {
			outputs[init.Name] = true
		}
		for _, n := range g.Node {
			ops = append(ops, n.OpType)
			for _, in := range n.Input {
				if !outputs[in] {
					t.Errorf("%s: node %s reads %s, which nothing before it writes", name, n.Name, in)
				}
			}
			if outputs[n.Output[0]] {
				t.Errorf("%s: %s is written twice", name, n.Output[0])
			}
			outputs[n.Output[0]] = true
			if n.OpType == "LeakyRelu" && n.Attribute[0].F != 0.25 {
				t.Errorf("LeakyRelu's alpha %g, want 0.25", n.Attribute[0].F)
			}
		}
		wantOps := append(append(append([]string{"Conv"}, want...), want...), "Flatten", "Gemm", "Softmax")
		if !slices.Equal(ops, wantOps) {
			t.Errorf("%s: operators %q, want %q", name, ops, wantOps)
		}
	}
}

// TestExportFlattensA1x1Image: a dense layer may take a 1x1 image without
// a flatten, which ONNX's Gemm needs.
func TestExportFlattensA1x1Image(t *testing.T) {
	spec := nn.ModelSpec{Format: nn.SpecFormat, Input: [3]int{2, 2, 3}, Layers: []nn.LayerSpec{
		{Type: "maxpool2d"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
	g := exportAndRead(t, build(t, spec)).Graph
	if g.Name != "vkcnn" {
		t.Errorf("an unnamed model's graph is named %q, want vkcnn", g.Name)
	}
	if len(g.Node) != 4 || g.Node[1].OpType != "Flatten" || g.Node[2].OpType != "Gemm" {
		t.Fatalf("nodes %v: want MaxPool, Flatten, Gemm, Softmax", g.Node)
	}
}

// TestConvKernelLayout: Keras' HWIO value [y, x, i, o] is ONNX's OIHW
// value [o, i, y, x], at a kernel of 4 rows and 3 columns.
func TestConvKernelLayout(t *testing.T) {
	const in, out, kh, kw = 2, 3, 4, 3
	l := convKernel(in, out, kh, kw)
	if !slices.Equal(l.shape, []int64{out, in, kh, kw}) {
		t.Fatalf("shape %v", l.shape)
	}
	at := 0
	for o := range out {
		for i := range in {
			for y := range kh {
				for x := range kw {
					if got, want := l.from(at), ((y*kw+x)*in+i)*out+o; got != want {
						t.Fatalf("OIHW [%d %d %d %d] takes HWIO value %d, want %d", o, i, y, x, got, want)
					}
					at++
				}
			}
		}
	}
}

// TestFlattenOrder: ONNX flattens an image of 2x3x2 (HWC) channel by
// channel, vkcnn pixel by pixel.
func TestFlattenOrder(t *testing.T) {
	want := []int{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}
	if got := flattenOrder(nn.Shape{H: 2, W: 3, C: 2}); !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if got := flattenOrder(nn.Shape{H: 2, W: 3, C: 1}); got != nil {
		t.Errorf("one channel: order %v, want none", got)
	}
}

// TestDenseRowsFollowTheFlatten: the first dense layer's kernel row for
// ONNX's feature (c, h, w) is vkcnn's row for the pixel (h, w), channel c.
func TestDenseRowsFollowTheFlatten(t *testing.T) {
	spec := nn.ModelSpec{Format: nn.SpecFormat, Input: [3]int{2, 3, 2}, Layers: []nn.LayerSpec{
		{Type: "flatten"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}}
	model := build(t, spec)
	params := make([]float32, model.ParamFloats)
	kernel := model.Params[0]
	for i := range kernel.Size() {
		params[kernel.Offset+i] = float32(i)
	}
	names := strings.Fields("zero one two three four five six seven eight nine")
	m, err := Export(model, params, Data{ClassNames: names})
	if err != nil {
		t.Fatal(err)
	}
	if entry := m.MetadataProps[len(m.MetadataProps)-1]; entry.Key != ClassNamesKey || entry.Value != `["zero","one","two","three","four","five","six","seven","eight","nine"]` {
		t.Errorf("metadata %s = %s, want the class names", entry.Key, entry.Value)
	}
	got := floats(m.Graph.Initializer[0])
	for c := range 2 {
		for h := range 2 {
			for w := range 3 {
				onnxRow, ourRow := (c*2+h)*3+w, (h*3+w)*2+c
				if got[onnxRow*10] != float32(ourRow*10) {
					t.Fatalf("ONNX row %d (c %d, h %d, w %d) begins %v, want vkcnn's row %d", onnxRow, c, h, w, got[onnxRow*10], ourRow)
				}
			}
		}
	}
}

func TestWriteFileErrors(t *testing.T) {
	model := build(t, everyLayer)
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "x.onnx"), model, model.Init(1), Data{}); err == nil {
		t.Error("no error writing into a missing folder")
	}
	if _, err := Export(model, make([]float32, 3), Data{}); err == nil {
		t.Error("no error for weights of another size")
	}
}

func build(t *testing.T, spec nn.ModelSpec) *nn.Model {
	t.Helper()
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	return model
}

// exportAndRead writes the model's file and reads it back.
func exportAndRead(t *testing.T, model *nn.Model) *onnxpb.ModelProto {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := WriteFile(path, model, model.Init(1), Data{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// dims writes a value's dimensions as "N,3,28,28".
func dims(v *onnxpb.ValueInfoProto) string {
	s := ""
	for i, d := range v.GetType().GetTensorType().GetShape().GetDim() {
		if i > 0 {
			s += ","
		}
		if p := d.GetDimParam(); p != "" {
			s += p
		} else {
			s += fmt.Sprint(d.GetDimValue())
		}
	}
	return s
}

func product(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

func floats(t *onnxpb.TensorProto) []float32 {
	out := make([]float32, len(t.RawData)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
	}
	return out
}

// TestExportResNet20: the preset's graph exports, a Sum for each of its
// nine blocks, its strided convolutions padded as TensorFlow pads them.
func TestExportResNet20(t *testing.T) {
	spec, err := nn.PresetFor("resnet20", [3]int{32, 32, 3}, 10)
	if err != nil {
		t.Fatal(err)
	}
	g := exportAndRead(t, build(t, spec)).Graph
	ops := map[string]int{}
	for _, n := range g.Node {
		ops[n.OpType]++
		if n.Name == "stage2_block1_conv1/Conv" {
			if got := fmt.Sprint(n.Attribute[1].Ints, n.Attribute[2].Ints, len(n.Input)); got != "[0 0 1 1] [2 2] 2" {
				t.Errorf("stage 2's strided convolution: pads, strides and inputs %s, want [0 0 1 1] [2 2] 2", got)
			}
		}
	}
	if ops["Sum"] != 9 || ops["Conv"] != 21 || ops["BatchNormalization"] != 21 || ops["GlobalAveragePool"] != 1 {
		t.Errorf("operators %v", ops)
	}
}

package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The model.json formats: a sequential model's layers each read the one
// before; a graph's may name the layers they read (LayerSpec.Inputs).
const (
	SpecFormat  = "vkcnn-sequential-1"
	GraphFormat = "vkcnn-graph-1"
)

// InputName is how a graph's layer names the model's input among its
// inputs; no layer of a graph may have it as its name.
const InputName = "input"

// LayerSpec is one layer of a model as model.json stores it.
type LayerSpec struct {
	Type string `json:"type"` // a layer kind (see the kind files: conv2d.go, dense.go, ...)
	Name string `json:"name,omitempty"`
	// Inputs, in a graph, name the earlier layers (or InputName) whose
	// outputs the layer reads; left out, the layer before (the input for
	// the first).
	Inputs  []string `json:"inputs,omitempty"`
	Filters int      `json:"filters,omitempty"` // conv2d
	// KernelSize is a convolution's kernel, rows then columns (one number
	// in model.json for both).
	KernelSize Pair `json:"kernel_size,omitempty"`
	// DilationRate spreads a convolution's taps, rows then columns (one
	// number for both); default 1. Keras refuses it with strides.
	DilationRate Pair `json:"dilation_rate,omitempty"`
	// Groups splits a conv2d's input and output channels into groups
	// convolved apart (tf.keras' Conv2D(groups=)); default 1.
	Groups int `json:"groups,omitempty"`
	// Strides are a conv2d's steps, rows then columns (one number in
	// model.json for both); default 1.
	Strides Pair   `json:"strides,omitempty"`
	Padding string `json:"padding,omitempty"` // conv2d: "same" (the default; TensorFlow's with strides) or "valid"; pooling: "valid" (the default) or "same"
	// PoolSize is a pooling's window, rows then columns (one number in
	// model.json for both); default 2. Its strides default to it.
	PoolSize Pair `json:"pool_size,omitempty"`
	// ZeroPadding is a zeropadding2d's rows above and below, then columns
	// left and right, which model.json writes in its padding field as one
	// number, [rows, columns] or [[top, bottom], [left, right]].
	ZeroPadding *[2][2]int `json:"-"`
	// UseBias false leaves a conv2d's bias out (before a batch
	// normalization, whose beta does its work).
	UseBias    *bool   `json:"use_bias,omitempty"`
	Units      int     `json:"units,omitempty"`      // dense
	Activation string  `json:"activation,omitempty"` // conv2d, dense, activation: see activation.go; softmax on the last dense layer only
	Rate       float64 `json:"rate,omitempty"`       // dropout
	// Alpha is leaky_relu's slope and elu's scale; a pointer, as
	// leaky_relu has no default.
	Alpha    *float64 `json:"alpha,omitempty"`
	Momentum *float64 `json:"momentum,omitempty"` // batchnorm: of the moving averages, Keras' (default 0.99)
	Epsilon  *float64 `json:"epsilon,omitempty"`  // batchnorm: added to the variance (default 1e-3)
	// Trainable false freezes the layer's parameters: Adam leaves them.
	Trainable *bool `json:"trainable,omitempty"`
	// Initializers start the layer's parameters, by name (kernel, bias,
	// gamma, ...), where the kind's defaults (Keras') do not.
	Initializers map[string]Initializer `json:"initializers,omitempty"`
	// DepthMultiplier is a depthwiseconv2d's or separableconv2d's kernels
	// an input channel (default 1).
	DepthMultiplier int `json:"depth_multiplier,omitempty"`
}

// fieldsSet names, as model.json does, the fields of the layer that are
// set, other than its type and name.
func (s LayerSpec) fieldsSet() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"filters", s.Filters != 0}, {"kernel_size", s.KernelSize != nil}, {"strides", s.Strides != nil}, {"dilation_rate", s.DilationRate != nil}, {"groups", s.Groups != 0}, {"padding", s.Padding != "" || s.ZeroPadding != nil}, {"use_bias", s.UseBias != nil},
		{"pool_size", s.PoolSize != nil},
		{"depth_multiplier", s.DepthMultiplier != 0},
		{"units", s.Units != 0}, {"activation", s.Activation != ""}, {"rate", s.Rate != 0}, {"alpha", s.Alpha != nil}, {"momentum", s.Momentum != nil}, {"epsilon", s.Epsilon != nil}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// Biased says the layer has a bias: use_bias is left out or true.
func (s LayerSpec) Biased() bool { return s.UseBias == nil || *s.UseBias }

// UnmarshalJSON decodes a layer strictly (unknown fields are errors),
// its padding a name or zeropadding2d's amounts.
func (s *LayerSpec) UnmarshalJSON(data []byte) error {
	type plain LayerSpec
	v := struct {
		*plain
		Padding json.RawMessage `json:"padding,omitempty"`
	}{plain: (*plain)(s)}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || v.Padding == nil {
		return err
	}
	if json.Unmarshal(v.Padding, &s.Padding) == nil {
		return nil
	}
	var n int
	var two [2]int
	var four [2][2]int
	switch {
	case json.Unmarshal(v.Padding, &n) == nil:
		four = [2][2]int{{n, n}, {n, n}}
	case json.Unmarshal(v.Padding, &two) == nil && strictLength(v.Padding, 2):
		four = [2][2]int{{two[0], two[0]}, {two[1], two[1]}}
	case json.Unmarshal(v.Padding, &four) == nil && strictLength(v.Padding, 2):
	default:
		return fmt.Errorf("padding %s: a name, a number, [rows, columns] or [[top, bottom], [left, right]]", v.Padding)
	}
	s.ZeroPadding = &four
	return nil
}

// strictLength says data is a JSON list of n lists or values, each list
// itself of n.
func strictLength(data []byte, n int) bool {
	var items []json.RawMessage
	if json.Unmarshal(data, &items) != nil || len(items) != n {
		return false
	}
	for _, item := range items {
		var inner []json.RawMessage
		if json.Unmarshal(item, &inner) == nil && len(inner) != n {
			return false
		}
	}
	return true
}

// MarshalJSON writes a layer as it always has, zeropadding2d's padding
// as [[top, bottom], [left, right]] after its other fields.
func (s LayerSpec) MarshalJSON() ([]byte, error) {
	type plain LayerSpec
	if s.ZeroPadding == nil {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		plain
		Padding *[2][2]int `json:"padding"`
	}{plain(s), s.ZeroPadding})
}

// Pair is two sizes, rows then columns, which model.json may write as one
// number for both.
type Pair []int

// UnmarshalJSON reads a number n as [n, n], or a list of two.
func (p *Pair) UnmarshalJSON(data []byte) error {
	if string(data) == "null" { // Keras' pooling strides: the pool size
		return nil
	}
	var n int
	if err := json.Unmarshal(data, &n); err == nil {
		*p = Pair{n, n}
		return nil
	}
	var two []int
	if err := json.Unmarshal(data, &two); err != nil || len(two) != 2 {
		return fmt.Errorf("%s is not a number or a list of two", data)
	}
	*p = two
	return nil
}

// MarshalJSON writes a pair of equal sizes as one number.
func (p Pair) MarshalJSON() ([]byte, error) {
	if len(p) == 2 && p[0] == p[1] {
		return json.Marshal(p[0])
	}
	return json.Marshal([]int(p))
}

// ModelSpec is a model: an input shape and its layers, in an order in
// which each follows the layers it reads.
type ModelSpec struct {
	Format string      `json:"format"`
	Name   string      `json:"name,omitempty"`
	Input  [3]int      `json:"input_shape"` // height, width, channels
	Layers []LayerSpec `json:"layers"`
}

// Presets are the built-in models.
var Presets = []string{"standard", "small", "resnet20", "mobilenet"}

// standard and small are MNIST-shaped: its images and classes.
var (
	mnistInput   = [3]int{28, 28, 1}
	mnistClasses = 10
)

// DataShaped says the preset takes the shape of a data set's images and
// its classes (PresetFor), where the others are MNIST-shaped.
func DataShaped(name string) bool { return name == "resnet20" || name == "mobilenet" }

// PresetFor returns a built-in model for images of input (height, width,
// channels) and classes classes where it takes them (DataShaped), else
// as Preset does.
func PresetFor(name string, input [3]int, classes int) (ModelSpec, error) {
	switch name {
	case "resnet20":
		return resnet20(input, classes), nil
	case "mobilenet":
		return mobilenet(input, classes), nil
	}
	return Preset(name)
}

// Preset returns a built-in model: "standard" is the baseline CNN of
// Sabour, Frosst & Hinton (2017); "small" is a LeNet-style network with
// pooling that trains an epoch on lavapipe in minutes; both are for MNIST
// (mnistInput, mnistClasses). "resnet20" is He et al.'s CIFAR network
// (resnet.go), here for CIFAR-10's 32x32x3 images and 10 classes;
// "mobilenet" MobileNet v1's pattern at width 0.5 (mobilenet.go), the same.
func Preset(name string) (ModelSpec, error) {
	relu := "relu"
	switch name {
	case "resnet20":
		return resnet20([3]int{32, 32, 3}, 10), nil
	case "mobilenet":
		return mobilenet([3]int{32, 32, 3}, 10), nil
	case "standard":
		return ModelSpec{Format: SpecFormat, Name: "standard", Input: mnistInput, Layers: []LayerSpec{
			{Type: "conv2d", Filters: 256, KernelSize: Pair{5, 5}, Activation: relu},
			{Type: "conv2d", Filters: 256, KernelSize: Pair{5, 5}, Activation: relu},
			{Type: "conv2d", Filters: 128, KernelSize: Pair{5, 5}, Activation: relu},
			{Type: "flatten"},
			{Type: "dense", Units: 328, Activation: relu},
			{Type: "dense", Units: 192, Activation: relu},
			{Type: "dropout", Rate: 0.5},
			{Type: "dense", Units: mnistClasses, Activation: "softmax"},
		}}, nil
	case "small":
		// Sized to reach 98.5% on the test set after one epoch (with its
		// training defaults, PresetTraining) in minutes on lavapipe.
		return ModelSpec{Format: SpecFormat, Name: "small", Input: mnistInput, Layers: []LayerSpec{
			{Type: "conv2d", Filters: 32, KernelSize: Pair{5, 5}, Activation: relu},
			{Type: "maxpool2d"},
			{Type: "conv2d", Filters: 64, KernelSize: Pair{5, 5}, Activation: relu},
			{Type: "maxpool2d"},
			{Type: "flatten"},
			{Type: "dense", Units: 128, Activation: relu},
			{Type: "dense", Units: mnistClasses, Activation: "softmax"},
		}}, nil
	}
	return ModelSpec{}, fmt.Errorf("unknown model %q (presets: %s, or a model.json file)", name, strings.Join(Presets, ", "))
}

// TrainingDefaults are a preset's training defaults where they differ
// from the reference run's (Adam at a constant 5e-4, batch 64).
type TrainingDefaults struct {
	LR        float64
	BatchSize int
	// Optimizer and Schedule, where named, are the preset's recipe. LR is
	// its optimizer's rate: another optimizer does not take it.
	Optimizer Optimizer
	Schedule  Schedule
}

// PresetTraining returns the training defaults of a preset: the small
// network learns fastest in its single epoch with a higher rate and more,
// smaller steps; resnet20 trains with He et al.'s recipe (SGD at 0.1,
// momentum 0.9, weight decay 1e-4, batch 128), annealed by a cosine
// after a short warmup so that one epoch ends at a low rate; mobilenet
// with Adam's usual rate at batch 128.
func PresetTraining(name string) (TrainingDefaults, bool) {
	switch name {
	case "small":
		return TrainingDefaults{LR: 1e-3, BatchSize: 32}, true
	case "resnet20":
		return TrainingDefaults{LR: 0.1, BatchSize: 128,
			Optimizer: Optimizer{Name: OptSGD, Momentum: 0.9, WeightDecay: 1e-4},
			Schedule:  Schedule{Name: SchedCosine, WarmupEpochs: 0.1}}, true
	case "mobilenet":
		return TrainingDefaults{LR: 1e-3, BatchSize: 128}, true
	}
	return TrainingDefaults{}, false
}

// LoadSpec reads a preset by name or a model.json file by path.
func LoadSpec(nameOrPath string) (ModelSpec, error) {
	if !strings.ContainsAny(nameOrPath, "/.") {
		return Preset(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return ModelSpec{}, fmt.Errorf("read model: %w", err)
	}
	spec, err := ParseSpec(data)
	if err != nil {
		return ModelSpec{}, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	return spec, nil
}

// ParseSpec decodes model.json strictly: unknown fields are errors.
func ParseSpec(data []byte) (ModelSpec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var spec ModelSpec
	if err := dec.Decode(&spec); err != nil {
		return ModelSpec{}, fmt.Errorf("not a valid model.json: %w", err)
	}
	if dec.More() {
		return ModelSpec{}, errors.New("not a valid model.json: data after the model")
	}
	if spec.Format != SpecFormat && spec.Format != GraphFormat {
		return ModelSpec{}, fmt.Errorf("model format %q, want %q or %q", spec.Format, SpecFormat, GraphFormat)
	}
	// LayerSpec.Name cannot tell "name": "" from no name, which Build
	// fills in; only the first is a mistake.
	var names struct {
		Layers []struct {
			Name *string `json:"name"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(data, &names); err != nil {
		return ModelSpec{}, fmt.Errorf("not a valid model.json: %w", err)
	}
	for i, l := range names.Layers {
		if l.Name != nil && *l.Name == "" {
			return ModelSpec{}, fmt.Errorf("layer %d: an empty name (leave \"name\" out for a default one)", i+1)
		}
	}
	if _, err := Build(spec); err != nil {
		return ModelSpec{}, err
	}
	return spec, nil
}

// JSON encodes the spec as model.json, with every layer named.
func (s ModelSpec) JSON() ([]byte, error) {
	m, err := Build(s)
	if err != nil {
		return nil, err
	}
	named := s
	named.Layers = make([]LayerSpec, len(m.Layers))
	for i, l := range m.Layers {
		named.Layers[i] = l.Spec
	}
	out, err := json.MarshalIndent(named, "", "  ")
	return append(out, '\n'), err
}

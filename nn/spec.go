package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// SpecFormat names the model.json format.
const SpecFormat = "vkcnn-sequential-1"

// LayerSpec is one layer of a sequential model as model.json stores it.
type LayerSpec struct {
	Type       string  `json:"type"` // a layer kind (see the kind files: conv2d.go, dense.go, ...)
	Name       string  `json:"name,omitempty"`
	Filters    int     `json:"filters,omitempty"`     // conv2d
	KernelSize int     `json:"kernel_size,omitempty"` // conv2d: odd, square
	Units      int     `json:"units,omitempty"`       // dense
	Activation string  `json:"activation,omitempty"`  // conv2d, dense, activation: see activation.go; softmax on the last dense layer only
	Rate       float64 `json:"rate,omitempty"`        // dropout
	// Alpha is leaky_relu's slope and elu's scale; a pointer, as
	// leaky_relu has no default.
	Alpha *float64 `json:"alpha,omitempty"`
}

// fieldsSet names, as model.json does, the fields of the layer that are
// set, other than its type and name.
func (s LayerSpec) fieldsSet() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"filters", s.Filters != 0}, {"kernel_size", s.KernelSize != 0}, {"units", s.Units != 0}, {"activation", s.Activation != ""}, {"rate", s.Rate != 0}, {"alpha", s.Alpha != nil}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// ModelSpec is a sequential model: an input shape and its layers.
type ModelSpec struct {
	Format string      `json:"format"`
	Name   string      `json:"name,omitempty"`
	Input  [3]int      `json:"input_shape"` // height, width, channels
	Layers []LayerSpec `json:"layers"`
}

// Presets are the built-in models.
var Presets = []string{"standard", "small"}

// The presets are MNIST-shaped: its images and classes.
var (
	mnistInput   = [3]int{28, 28, 1}
	mnistClasses = 10
)

// Preset returns a built-in model: "standard" is the baseline CNN of
// Sabour, Frosst & Hinton (2017); "small" is a LeNet-style network with
// pooling that trains an epoch on lavapipe in minutes. Both are for MNIST
// (mnistInput, mnistClasses).
func Preset(name string) (ModelSpec, error) {
	relu := "relu"
	switch name {
	case "standard":
		return ModelSpec{Format: SpecFormat, Name: "standard", Input: mnistInput, Layers: []LayerSpec{
			{Type: "conv2d", Filters: 256, KernelSize: 5, Activation: relu},
			{Type: "conv2d", Filters: 256, KernelSize: 5, Activation: relu},
			{Type: "conv2d", Filters: 128, KernelSize: 5, Activation: relu},
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
			{Type: "conv2d", Filters: 32, KernelSize: 5, Activation: relu},
			{Type: "maxpool2d"},
			{Type: "conv2d", Filters: 64, KernelSize: 5, Activation: relu},
			{Type: "maxpool2d"},
			{Type: "flatten"},
			{Type: "dense", Units: 128, Activation: relu},
			{Type: "dense", Units: mnistClasses, Activation: "softmax"},
		}}, nil
	}
	return ModelSpec{}, fmt.Errorf("unknown model %q (presets: %s, or a model.json file)", name, strings.Join(Presets, ", "))
}

// TrainingDefaults are a preset's learning rate and batch size where they
// differ from the reference run's (5e-4, 64).
type TrainingDefaults struct {
	LR        float64
	BatchSize int
}

// PresetTraining returns the training defaults of a preset: the small
// network learns fastest in its single epoch with a higher rate and more,
// smaller steps.
func PresetTraining(name string) (TrainingDefaults, bool) {
	if name == "small" {
		return TrainingDefaults{LR: 1e-3, BatchSize: 32}, true
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
	if spec.Format != SpecFormat {
		return ModelSpec{}, fmt.Errorf("model format %q, want %q", spec.Format, SpecFormat)
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

// Package keras reads the model files Keras writes, model.to_json()'s
// JSON and the .keras archive's config.json, as vkcnn's model specs.
// Only the architecture is read: the weights a .keras or .h5 file holds
// are not.
//
// It reads three dialects, told apart by the file itself: Keras 2.0 to
// 2.2.2 Sequential models, whose config is the list of layers, the first
// with batch_input_shape; Keras 2.2.3 and later 2.x and tf.keras, whose
// config has a name and the layers; and Keras 3, whose objects name their
// module and registered_name and whose InputLayer has a batch_shape.
package keras

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/vkcnn/vkcnn/nn"
)

// Options are how leniently a file is read.
type Options struct {
	// Lenient drops regularizers and constraints, which vkcnn lacks,
	// calling Warn with a line for each, where they are otherwise refused.
	Lenient bool
	Warn    func(string)
}

// Load reads a preset by name, or a model file: vkcnn's model.json or a
// Keras file, told apart by their contents.
func Load(nameOrPath string, opts Options) (nn.ModelSpec, error) {
	if !strings.ContainsAny(nameOrPath, "/.") {
		return nn.LoadSpec(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nn.ModelSpec{}, fmt.Errorf("read model: %w", err)
	}
	read := nn.ParseSpec
	if IsKeras(data) {
		read = func(data []byte) (nn.ModelSpec, error) { return Read(data, opts) }
	}
	spec, err := read(data)
	if err != nil {
		return nn.ModelSpec{}, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	return spec, nil
}

// The first bytes of a zip archive (a .keras file) and of HDF5 (.h5).
var (
	zipMagic  = []byte("PK\x03\x04")
	hdf5Magic = []byte("\x89HDF\r\n\x1a\n")
)

// IsKeras says whether data is a file that Keras wrote: a .keras or .h5
// file, or JSON whose top level has a class_name.
func IsKeras(data []byte) bool {
	if bytes.HasPrefix(data, zipMagic) || bytes.HasPrefix(data, hdf5Magic) {
		return true
	}
	var top struct {
		ClassName json.RawMessage `json:"class_name"`
	}
	return json.Unmarshal(unwrap(data), &top) == nil && top.ClassName != nil
}

// unwrap returns the JSON a JSON string holds (to_json()'s string dumped
// as JSON once more), else data.
func unwrap(data []byte) []byte {
	var inner string
	if json.Unmarshal(data, &inner) == nil {
		return []byte(inner)
	}
	return data
}

// Read reads a Keras model: to_json()'s JSON, a .keras archive or its
// config.json.
func Read(data []byte, opts Options) (nn.ModelSpec, error) {
	version := ""
	switch {
	case bytes.HasPrefix(data, hdf5Magic):
		return nn.ModelSpec{}, errors.New("an HDF5 (.h5) file: vkcnn reads a Keras model's architecture from model.to_json()'s JSON or a .keras archive, and no weights")
	case bytes.HasPrefix(data, zipMagic):
		var err error
		if data, version, err = fromArchive(data); err != nil {
			return nn.ModelSpec{}, err
		}
	}
	var model struct {
		object
		Version *string `json:"keras_version"`
	}
	if err := json.Unmarshal(unwrap(data), &model); err != nil {
		return nn.ModelSpec{}, fmt.Errorf("not a Keras model's JSON: %w", err)
	}
	if model.Version != nil {
		version = *model.Version
	}
	r := &reader{opts: opts, keras3: model.Module != nil || strings.HasPrefix(version, "3."), version: version}
	return r.model(model.object)
}

// fromArchive returns a .keras archive's config.json and the Keras
// version its metadata.json names.
func fromArchive(data []byte) (config []byte, version string, err error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, "", fmt.Errorf("a zip archive that cannot be read: %w", err)
	}
	read := func(name string) ([]byte, error) {
		f, err := zr.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, 64<<20))
	}
	if config, err = read("config.json"); err != nil {
		return nil, "", fmt.Errorf("a zip archive without config.json (a .keras file has one): %w", err)
	}
	if meta, err := read("metadata.json"); err == nil {
		var m struct {
			Version string `json:"keras_version"`
		}
		if json.Unmarshal(meta, &m) == nil {
			version = m.Version
		}
	}
	return config, version, nil
}

func mustMarshal(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err) // decoded JSON always encodes
	}
	return out
}

// object is a serialized Keras object: a model, a layer, an initializer.
type object struct {
	ClassName string          `json:"class_name"`
	Config    json.RawMessage `json:"config"`
	Module    *string         `json:"module"` // Keras 3
	// A graph's layer's name, and the calls of it that make its outputs.
	Name         string            `json:"name"`
	InboundNodes []json.RawMessage `json:"inbound_nodes"`
}

// reader reads one file.
type reader struct {
	opts    Options
	keras3  bool
	version string // keras_version, "" where the file names none
	input   []int  // the input shape, from the first batch shape
}

// model reads the model object: a Sequential model, or a graph (Keras'
// Model or Functional) of one input and one output.
func (r *reader) model(m object) (nn.ModelSpec, error) {
	var g graph
	var err error
	switch m.ClassName {
	case "Sequential":
		g, err = sequentialLayers(m.Config)
	case "Model", "Functional":
		g, err = graphLayers(m.Config)
	default:
		return nn.ModelSpec{}, fmt.Errorf("a %s at the top level: a Keras model's JSON has a Sequential, Model or Functional model there", m.ClassName)
	}
	if err != nil {
		return nn.ModelSpec{}, err
	}
	spec := nn.ModelSpec{Format: nn.SpecFormat, Name: g.name}
	if g.inputs != nil {
		spec.Format = nn.GraphFormat
	}
	// tensors names what each Keras layer's output is in vkcnn's model: a
	// layer's own name, or what a layer vkcnn leaves out passes on.
	tensors := map[string]string{}
	var kerasClasses []string // of spec.Layers
	for i, l := range g.layers {
		ls, keep, err := r.layer(l)
		if err != nil {
			return nn.ModelSpec{}, err
		}
		var inputs []string
		if g.inputs != nil {
			for _, in := range g.inputs[i] {
				t, ok := tensors[in]
				if !ok {
					return nn.ModelSpec{}, refuse(ls.Name, l.ClassName, "its input %s is no earlier layer's output", in)
				}
				inputs = append(inputs, t)
			}
			ls.Inputs = inputs
		}
		switch {
		case l.ClassName == "InputLayer":
			if g.inputs != nil && len(inputs) == 0 {
				tensors[ls.Name] = nn.InputName
			}
		case ls.Type == "" && ls.Activation == "softmax":
			// The loss fuses the last softmax into the dense layer before.
			last := len(spec.Layers) - 1
			if i != len(g.layers)-1 || last < 0 || (inputs != nil && inputs[0] != spec.Layers[last].Name) {
				return nn.ModelSpec{}, refuse(ls.Name, l.ClassName, "a softmax is only read as the model's last layer, after the Dense layer it follows")
			}
			d := &spec.Layers[last]
			if d.Type != "dense" || (d.Activation != "" && d.Activation != "linear") {
				return nn.ModelSpec{}, refuse(ls.Name, l.ClassName, "the last Activation('softmax') follows %s, not a Dense layer without activation", d.Name)
			}
			d.Activation = "softmax"
			tensors[ls.Name] = d.Name
		case !keep: // an Activation('linear')
			if inputs != nil {
				tensors[ls.Name] = inputs[0]
			}
		default:
			spec.Layers = append(spec.Layers, ls)
			kerasClasses = append(kerasClasses, l.ClassName)
			tensors[ls.Name] = ls.Name
		}
	}
	if r.input == nil {
		return nn.ModelSpec{}, errors.New("no input shape: the first layer has no batch_input_shape (build the model before to_json())")
	}
	if len(spec.Layers) == 0 {
		return nn.ModelSpec{}, errors.New("no layers beyond the input")
	}
	if g.output != "" {
		if out := tensors[g.output]; out != spec.Layers[len(spec.Layers)-1].Name {
			return nn.ModelSpec{}, fmt.Errorf("the output %s is not the last layer: vkcnn's model ends in its output", g.output)
		}
	}
	switch len(r.input) {
	case 3:
		spec.Input = [3]int{r.input[0], r.input[1], r.input[2]}
	case 1:
		spec.Input = [3]int{1, 1, r.input[0]}
	default:
		return nn.ModelSpec{}, fmt.Errorf("input shape %v: vkcnn reads images (height, width, channels) or vectors", r.input)
	}
	if _, err := nn.Build(spec); err != nil {
		// Build names a layer by its number in vkcnn's model: name its
		// Keras class instead.
		for i, l := range spec.Layers {
			if rest, ok := strings.CutPrefix(err.Error(), fmt.Sprintf("layer %d (%s): ", i+1, l.Name)); ok {
				return nn.ModelSpec{}, refuse(l.Name, kerasClasses[i], "%s", rest)
			}
		}
		return nn.ModelSpec{}, err
	}
	return spec, nil
}

// refuse is a layer's refusal, naming it and its class.
func refuse(name, class, format string, args ...any) error {
	return fmt.Errorf("layer %s (%s): %s", name, class, fmt.Sprintf(format, args...))
}

// classes lists the classes vkcnn reads, for messages.
func classes() string {
	return strings.Join(slices.Sorted(slices.Values(append(nn.KerasClasses(), "InputLayer", "ELU"))), ", ")
}

// layer reads a layer: keep false for one that is no layer of vkcnn's
// (an InputLayer, an Activation('linear')); an Activation('softmax')
// comes back with no type, for model to fuse.
func (r *reader) layer(l object) (ls nn.LayerSpec, keep bool, err error) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(l.Config, &cfg); err != nil {
		return ls, false, fmt.Errorf("layer of class %s: its config is no object: %w", l.ClassName, err)
	}
	if v, ok := cfg["name"]; ok {
		if err := json.Unmarshal(v, &ls.Name); err != nil {
			return ls, false, fmt.Errorf("layer of class %s: name: %w", l.ClassName, err)
		}
	}
	name, class := ls.Name, l.ClassName
	fail := func(format string, args ...any) (nn.LayerSpec, bool, error) {
		return ls, false, refuse(name, class, format, args...)
	}
	done := map[string]bool{"name": true}
	for _, key := range []string{"batch_input_shape", "batch_shape"} {
		if v, ok := cfg[key]; ok {
			done[key] = true
			if r.input != nil {
				continue
			}
			var shape []*int
			if err := json.Unmarshal(v, &shape); err != nil || len(shape) < 2 || slices.Contains(shape[1:], nil) {
				return fail("%s %s: want the batch and each side of a sample, every side known", key, v)
			}
			for _, d := range shape[1:] {
				r.input = append(r.input, *d)
			}
		}
	}
	if v, ok := cfg["dtype"]; ok {
		done["dtype"] = true
		if dtype := dtypeName(v); dtype != "float32" && dtype != "" {
			return fail("dtype %s: vkcnn trains float32", dtype)
		}
	}
	if v, ok := cfg["trainable"]; ok {
		done["trainable"] = true
		var trainable bool
		if err := json.Unmarshal(v, &trainable); err != nil {
			return fail("trainable %s: want true or false", v)
		}
		if !trainable {
			ls.Trainable = &trainable
		}
	}
	if v, ok := cfg["data_format"]; ok {
		done["data_format"] = true
		if s := string(v); s != `"channels_last"` && s != "null" {
			return fail("data_format %s: vkcnn's tensors are channels_last", v)
		}
	}
	done["seed"] = true // a dropout's: vkcnn draws its masks from the run's seed

	if class == "InputLayer" {
		for _, key := range []string{"sparse", "ragged", "optional"} {
			if v, ok := cfg[key]; ok {
				done[key] = true
				if string(v) != "false" {
					return fail("%s %s: vkcnn's input is a dense tensor", key, v)
				}
			}
		}
		if err := unread(cfg, done); err != nil {
			return fail("%v", err)
		}
		return ls, false, nil
	}
	kindClass, err := r.kindClass(class, cfg, done, &ls)
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case kindClass == "" && ls.Activation == "softmax":
		return ls, true, nil
	case kindClass == "":
		return ls, false, nil
	}
	k, ok := nn.KerasClassOf(kindClass)
	if !ok {
		if class == "Sequential" || class == "Model" || class == "Functional" {
			return fail("a nested model: vkcnn reads one model's layers (%s)", classes())
		}
		return fail("vkcnn reads the classes %s", classes())
	}
	ls.Type = k.Type
	for _, key := range k.Fields {
		if v, ok := cfg[key]; ok && !done[key] {
			done[key] = true
			if key == "activation" {
				if ls.Activation, ls.Alpha, err = r.activation(v); err != nil {
					return fail("%v", err)
				}
				continue
			}
			var value any
			if err := json.Unmarshal(v, &value); err != nil {
				return fail("%s: %v", key, err)
			}
			value = samePair(value)
			if err := remarshal(key, value, &ls); err != nil {
				if _, list := value.([]any); list && key != "padding" { // ZeroPadding2D's says what it takes
					return fail("%s %s: vkcnn's %s takes one number", key, canonical(v), k.Type)
				}
				return fail("%s %s: %v", key, canonical(v), err)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(k.Fixed)) {
		values := k.Fixed[key]
		if v, ok := cfg[key]; ok {
			done[key] = true
			if !slices.Contains(values, canonical(v)) {
				return fail("%s %s: vkcnn's %s takes %s", key, canonical(v), k.Type, strings.Join(values, " or "))
			}
		}
	}
	for _, key := range sortedKeys(cfg) {
		v := cfg[key]
		switch {
		case strings.HasSuffix(key, "_initializer"):
			done[key] = true
			// Keras writes a bias_initializer even without a bias.
			if string(v) == "null" || (key == "bias_initializer" && string(cfg["use_bias"]) == "false") {
				continue
			}
			init, err := r.initializer(v)
			if err != nil {
				return fail("%s: %v", key, err)
			}
			if ls.Initializers == nil {
				ls.Initializers = map[string]nn.Initializer{}
			}
			ls.Initializers[initialized(key)] = init
		case strings.HasSuffix(key, "_regularizer"), strings.HasSuffix(key, "_constraint"):
			done[key] = true
			if string(v) == "null" {
				continue
			}
			var what object
			_ = json.Unmarshal(v, &what)
			if !r.opts.Lenient {
				return fail("%s %s: vkcnn has no regularizers or constraints (--lenient drops them)", key, what.ClassName)
			}
			if r.opts.Warn != nil {
				r.opts.Warn(fmt.Sprintf("layer %s (%s): %s %s dropped (--lenient)", name, class, key, what.ClassName))
			}
		}
	}
	if err := unread(cfg, done); err != nil {
		return fail("%v", err)
	}
	return ls, true, nil
}

// initialized is the parameter an initializer entry starts: Keras names
// the depthwise and pointwise kernels' after them, less "_kernel".
func initialized(key string) string {
	name := strings.TrimSuffix(key, "_initializer")
	if name == "depthwise" || name == "pointwise" {
		name += "_kernel"
	}
	return name
}

// unread refuses config entries the reader has not read.
func unread(cfg map[string]json.RawMessage, done map[string]bool) error {
	var left []string
	for _, key := range sortedKeys(cfg) {
		if !done[key] {
			left = append(left, key+" "+canonical(cfg[key]))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("config entries vkcnn does not read: %s", strings.Join(left, ", "))
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// canonical is a JSON value as encoding/json writes it: 1.0 is 1.
func canonical(v json.RawMessage) string {
	var value any
	if err := json.Unmarshal(v, &value); err != nil {
		return string(v)
	}
	return string(mustMarshal(value))
}

// samePair reads Keras' [n, n] (a square kernel) as model.json's n.
func samePair(v any) any {
	if pair, ok := v.([]any); ok && len(pair) == 2 {
		if n, ok := pair[0].(float64); ok && pair[1] == any(n) {
			return n
		}
	}
	return v
}

// remarshal decodes a field, by its model.json name, into ls.
func remarshal(key string, value any, ls *nn.LayerSpec) error {
	return json.Unmarshal(mustMarshal(map[string]any{key: value}), ls)
}

// dtypeName is a layer's dtype: a name, or Keras 3's DTypePolicy's.
func dtypeName(v json.RawMessage) string {
	var name string
	if json.Unmarshal(v, &name) == nil {
		return name
	}
	var policy struct {
		Config struct {
			Name string `json:"name"`
		} `json:"config"`
	}
	if json.Unmarshal(v, &policy) == nil {
		return policy.Config.Name
	}
	return string(v)
}

// correctsNormal says whether the file's VarianceScaling "normal" divides
// its standard deviation by that of a truncated unit normal: Keras does
// since 2.2.0 (keras-team/keras#9963), tf.keras and Keras 3 too; Keras
// 2.0 and 2.1 do not, nor does TensorFlow.js (tensorflow/tfjs#8594).
func (r *reader) correctsNormal() bool {
	if r.keras3 {
		return true
	}
	v := r.version
	if strings.HasPrefix(v, "tfjs") {
		return false
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true // no version: a recent writer
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 2 || (major == 2 && minor >= 2)
}

// Keras' named variance-scaling initializers: scale, mode, distribution.
var varianceScalings = map[string]nn.Initializer{
	"GlorotUniform": {Scale: 1, Mode: "fan_avg", Distribution: "uniform"},
	"GlorotNormal":  {Scale: 1, Mode: "fan_avg", Distribution: "normal"},
	"HeUniform":     {Scale: 2, Mode: "fan_in", Distribution: "uniform"},
	"HeNormal":      {Scale: 2, Mode: "fan_in", Distribution: "normal"},
	"LecunUniform":  {Scale: 1, Mode: "fan_in", Distribution: "uniform"},
	"LecunNormal":   {Scale: 1, Mode: "fan_in", Distribution: "normal"},
}

// initializer reads a Keras initializer.
func (r *reader) initializer(v json.RawMessage) (nn.Initializer, error) {
	var o object
	if err := json.Unmarshal(v, &o); err != nil || o.ClassName == "" {
		return nn.Initializer{}, fmt.Errorf("%s: want an initializer object", canonical(v))
	}
	var cfg struct {
		Scale        *float64 `json:"scale"`
		Mode         string   `json:"mode"`
		Distribution string   `json:"distribution"`
		Value        float64  `json:"value"`
		Mean         float64  `json:"mean"`
		Stddev       *float64 `json:"stddev"`
		Minval       *float64 `json:"minval"`
		Maxval       *float64 `json:"maxval"`
	}
	if len(o.Config) > 0 {
		if err := json.Unmarshal(o.Config, &cfg); err != nil {
			return nn.Initializer{}, fmt.Errorf("%s: %v", o.ClassName, err)
		}
	}
	or := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}
	var in nn.Initializer
	switch o.ClassName {
	case "Zeros", "Ones":
		in.Type = strings.ToLower(o.ClassName)
	case "Constant":
		in = nn.Initializer{Type: "constant", Value: cfg.Value}
	case "RandomNormal", "TruncatedNormal":
		in = nn.Initializer{Type: "random_normal", Mean: cfg.Mean, Stddev: or(cfg.Stddev, 0.05)}
		if o.ClassName == "TruncatedNormal" {
			in.Type = "truncated_normal"
		}
	case "RandomUniform":
		in = nn.Initializer{Type: "random_uniform", Minval: or(cfg.Minval, -0.05), Maxval: or(cfg.Maxval, 0.05)}
	case "VarianceScaling":
		in = nn.Initializer{Scale: or(cfg.Scale, 1), Mode: cfg.Mode, Distribution: cfg.Distribution}
	default:
		named, ok := varianceScalings[o.ClassName]
		if !ok {
			return nn.Initializer{}, fmt.Errorf("initializer %s: vkcnn reads VarianceScaling, Glorot, He and Lecun (uniform, normal), Zeros, Ones, Constant, RandomNormal, RandomUniform and TruncatedNormal", o.ClassName)
		}
		in = named
	}
	if in.Type == "" {
		in.Type = "variance_scaling"
		if in.Mode == "" {
			in.Mode = "fan_in"
		}
		// Keras 2's default distribution, and its name for a truncated
		// normal whose deviation depends on the version.
		if in.Distribution == "" || in.Distribution == "normal" {
			in.Distribution = "truncated_normal_uncorrected"
			if r.correctsNormal() {
				in.Distribution = "truncated_normal"
			}
		}
	}
	return in, nil
}

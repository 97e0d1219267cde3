package nn

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestInitializers draws a convolution kernel (fan in 144, fan out 288)
// with each initializer: its values stay in their bounds, with Keras'
// mean and standard deviation.
func TestInitializers(t *testing.T) {
	shape := []int{3, 3, 16, 32}
	fanIn, fanAvg := 144.0, 216.0
	for _, c := range []struct {
		init            Initializer
		mean, std, span float64 // span: the largest |value - mean|, 0 unbounded
	}{
		{Zeros, 0, 0, 0},
		{Ones, 1, 0, 0},
		{Initializer{Type: "constant", Value: 0.25}, 0.25, 0, 0},
		{Initializer{Type: "random_normal", Mean: 0.5, Stddev: 0.1}, 0.5, 0.1, 0},
		{Initializer{Type: "truncated_normal", Mean: -0.5, Stddev: 0.1}, -0.5, 0.1 * truncatedStddev, 0.2},
		{Initializer{Type: "random_uniform", Minval: -0.3, Maxval: 0.1}, -0.1, 0.4 / math.Sqrt(12), 0.2},
		{GlorotUniform, 0, math.Sqrt(1 / fanAvg), math.Sqrt(3 / fanAvg)},
		{Initializer{Type: "variance_scaling", Scale: 2, Mode: "fan_in", Distribution: "truncated_normal"}, 0, math.Sqrt(2 / fanIn), 2 * math.Sqrt(2/fanIn) / truncatedStddev},
		{Initializer{Type: "variance_scaling", Scale: 2, Mode: "fan_in", Distribution: "truncated_normal_uncorrected"}, 0, math.Sqrt(2/fanIn) * truncatedStddev, 2 * math.Sqrt(2/fanIn)},
		{Initializer{Type: "variance_scaling", Scale: 1, Mode: "fan_out", Distribution: "untruncated_normal"}, 0, math.Sqrt(1.0 / 288), 0},
	} {
		p := &Param{Shape: shape, Init: c.init}
		values := make([]float32, p.Size())
		p.fill(values, rand.New(rand.NewPCG(1, 2)))
		var sum, sq, most float64
		for _, v := range values {
			sum += float64(v)
		}
		mean := sum / float64(len(values))
		for _, v := range values {
			d := float64(v) - c.mean
			sq += d * d
			most = max(most, math.Abs(d))
		}
		std := math.Sqrt(sq / float64(len(values)))
		if math.Abs(mean-c.mean) > 0.03*math.Max(c.std, 1e-9)+1e-7 || math.Abs(std-c.std) > 0.03*c.std+1e-7 || (c.span > 0 && most > c.span*(1+1e-6)) {
			t.Errorf("%+v: mean %g, deviation %g, at most %g from the mean; want %g, %g, %g", c.init, mean, std, most, c.mean, c.std, c.span)
		}
	}
}

// TestInitializerRefusals: model.json's initializers are checked against
// the layer's parameters and their types' arguments.
func TestInitializerRefusals(t *testing.T) {
	for _, c := range []struct {
		inits map[string]Initializer
		want  string
	}{
		{map[string]Initializer{"gamma": Ones}, "layer 1 (conv2d_1): an initializer for gamma, which the layer does not have (it has kernel, bias)"},
		{map[string]Initializer{"kernel": {Type: "orthogonal"}}, `layer 1 (conv2d_1): kernel: unknown initializer "orthogonal"`},
		{map[string]Initializer{"kernel": {Type: "random_normal"}}, "kernel: a random_normal initializer needs stddev > 0"},
		{map[string]Initializer{"bias": {Type: "zeros", Value: 1}}, "bias: a zeros initializer takes no value"},
		{map[string]Initializer{"kernel": {Type: "variance_scaling", Scale: 1, Mode: "fan_avg", Distribution: "normal"}}, "kernel: a variance_scaling initializer needs"},
		{map[string]Initializer{"kernel": {Type: "random_uniform", Minval: 1, Maxval: -1}}, "needs minval < maxval"},
	} {
		spec := tinySpec()
		spec.Layers[0].Initializers = c.inits
		if _, err := Build(spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.inits, err, c.want)
		}
	}
}

// TestSpecKeepsKerasSettings: initializers, frozen layers and batch
// normalization's settings survive model.json, as a run folder keeps
// them for --resume.
func TestSpecKeepsKerasSettings(t *testing.T) {
	frozen, momentum, epsilon := false, 0.9, 1e-5
	spec := tinySpec()
	bn := slices.IndexFunc(spec.Layers, func(l LayerSpec) bool { return l.Type == "batchnorm" })
	spec.Layers[0].Trainable = &frozen
	spec.Layers[0].Initializers = map[string]Initializer{"kernel": {Type: "variance_scaling", Scale: 2, Mode: "fan_in", Distribution: "truncated_normal"}, "bias": {Type: "constant", Value: 0.1}}
	spec.Layers[bn].Momentum, spec.Layers[bn].Epsilon = &momentum, &epsilon
	data, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range back.Layers {
		back.Layers[i].Name = "" // JSON names every layer
	}
	if !reflect.DeepEqual(back, spec) {
		t.Errorf("model.json\n%s\nreads back as %+v", data, back)
	}
	spec.Layers[0].Momentum = &momentum
	if _, err := Build(spec); err == nil || !strings.Contains(err.Error(), "a conv2d layer takes no momentum") {
		t.Errorf("momentum on a convolution: %v", err)
	}
	spec.Layers[0].Momentum = nil
	spec.Layers[bn].Momentum = &epsilon
	*spec.Layers[bn].Momentum = 1
	if _, err := Build(spec); err == nil || !strings.Contains(err.Error(), "needs 0 <= momentum < 1") {
		t.Errorf("momentum 1: %v", err)
	}
}

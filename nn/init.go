package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Initializer is how a parameter tensor starts, as Keras' initializers
// draw it; model.json writes one as {"type": ...} with its arguments.
type Initializer struct {
	// Type is zeros, ones, constant, random_normal, random_uniform,
	// truncated_normal or variance_scaling.
	Type         string  `json:"type"`
	Value        float64 `json:"value,omitempty"`  // constant
	Mean         float64 `json:"mean,omitempty"`   // random_normal, truncated_normal
	Stddev       float64 `json:"stddev,omitempty"` // random_normal, truncated_normal
	Minval       float64 `json:"minval,omitempty"` // random_uniform
	Maxval       float64 `json:"maxval,omitempty"` // random_uniform
	Scale        float64 `json:"scale,omitempty"`  // variance_scaling
	Mode         string  `json:"mode,omitempty"`   // variance_scaling: fan_in, fan_out or fan_avg
	Distribution string  `json:"distribution,omitempty"`
}

// The variance-scaling distributions. A truncated normal is redrawn
// beyond two standard deviations of the normal it truncates, which
// leaves it 0.8796 of that normal's deviation: truncated_normal divides
// the normal's by that factor so that the draws have sqrt(scale / n), as
// Keras does since 2.2.0; truncated_normal_uncorrected does not, as
// Keras 2.0 and 2.1 (and TensorFlow.js) do for "normal".
var varianceDistributions = []string{"uniform", "truncated_normal", "untruncated_normal", "truncated_normal_uncorrected"}

// truncatedStddev is the standard deviation of a unit normal truncated at
// ±2 (scipy.stats.truncnorm.std(-2, 2)).
const truncatedStddev = 0.87962566103423978

// The initializers of the kinds' parameters where a layer names none:
// Keras' defaults.
var (
	Zeros         = Initializer{Type: "zeros"}
	Ones          = Initializer{Type: "ones"}
	GlorotUniform = Initializer{Type: "variance_scaling", Scale: 1, Mode: "fan_avg", Distribution: "uniform"}
)

// InitializerTypes are the types model.json's initializers take.
var InitializerTypes = []string{"zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal", "variance_scaling"}

// check says what is wrong with the initializer's arguments.
func (in Initializer) check() error {
	set := func(names ...string) error {
		args := map[string]bool{"value": in.Value != 0, "mean": in.Mean != 0, "stddev": in.Stddev != 0, "minval": in.Minval != 0,
			"maxval": in.Maxval != 0, "scale": in.Scale != 0, "mode": in.Mode != "", "distribution": in.Distribution != ""}
		for name, isSet := range args {
			if isSet && !slices.Contains(names, name) {
				return fmt.Errorf("a %s initializer takes no %s", in.Type, name)
			}
		}
		return nil
	}
	switch in.Type {
	case "zeros", "ones":
		return set()
	case "constant":
		return set("value")
	case "random_normal", "truncated_normal":
		if !(in.Stddev > 0) {
			return fmt.Errorf("a %s initializer needs stddev > 0", in.Type)
		}
		return set("mean", "stddev")
	case "random_uniform":
		if !(in.Minval < in.Maxval) {
			return fmt.Errorf("a random_uniform initializer needs minval < maxval (got %g, %g)", in.Minval, in.Maxval)
		}
		return set("minval", "maxval")
	case "variance_scaling":
		if !(in.Scale > 0) || !slices.Contains([]string{"fan_in", "fan_out", "fan_avg"}, in.Mode) || !slices.Contains(varianceDistributions, in.Distribution) {
			return fmt.Errorf("a variance_scaling initializer needs scale > 0, mode fan_in, fan_out or fan_avg and distribution %v (got %g, %q, %q)",
				varianceDistributions, in.Scale, in.Mode, in.Distribution)
		}
		return set("scale", "mode", "distribution")
	}
	return fmt.Errorf("unknown initializer %q (%v)", in.Type, InitializerTypes)
}

// fans are a tensor's input and output units as Keras counts them: a
// vector's length for both, a matrix's rows and columns, a convolution
// kernel's (height, width, in, out) window times its in and out channels.
func fans(shape []int) (in, out int) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return shape[0], shape[0]
	case 2:
		return shape[0], shape[1]
	}
	window := 1
	for _, d := range shape[:len(shape)-2] {
		window *= d
	}
	return window * shape[len(shape)-2], window * shape[len(shape)-1]
}

// fill draws the parameter's initial values into values.
func (p *Param) fill(values []float32, rng *rand.Rand) {
	in := p.Init
	constant := func(v float64) {
		for i := range values {
			values[i] = float32(v)
		}
	}
	normal := func(mean, stddev float64, truncated bool) {
		for i := range values {
			z := rng.NormFloat64()
			for truncated && math.Abs(z) > 2 {
				z = rng.NormFloat64()
			}
			values[i] = float32(mean + stddev*z)
		}
	}
	uniform := func(low, high float64) {
		for i := range values {
			values[i] = float32(low + (high-low)*rng.Float64())
		}
	}
	switch in.Type {
	case "zeros":
		// already zero
	case "ones":
		constant(1)
	case "constant":
		constant(in.Value)
	case "random_normal", "truncated_normal":
		normal(in.Mean, in.Stddev, in.Type == "truncated_normal")
	case "random_uniform":
		uniform(in.Minval, in.Maxval)
	case "variance_scaling":
		fanIn, fanOut := p.FanIn, p.FanOut
		if fanIn == 0 {
			fanIn, fanOut = fans(p.Shape)
		}
		n := float64(fanIn)
		switch in.Mode {
		case "fan_out":
			n = float64(fanOut)
		case "fan_avg":
			n = float64(fanIn+fanOut) / 2
		}
		n = max(n, 1)
		switch in.Distribution {
		case "uniform":
			// (2u - 1) * limit, as vkcnn has drawn Glorot-uniform kernels
			// from the start: runs stay bit-identical.
			limit := math.Sqrt(3 * in.Scale / n)
			for i := range values {
				values[i] = float32((2*rng.Float64() - 1) * limit)
			}
		case "truncated_normal":
			normal(0, math.Sqrt(in.Scale/n)/truncatedStddev, true)
		case "truncated_normal_uncorrected":
			normal(0, math.Sqrt(in.Scale/n), true)
		case "untruncated_normal":
			normal(0, math.Sqrt(in.Scale/n), false)
		}
	}
}

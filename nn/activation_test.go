package nn

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestActivationRefusals: each refusal of an activation or its alpha is
// one line that names the layer.
func TestActivationRefusals(t *testing.T) {
	const head, tail = `{"format":"vkcnn-sequential-1","input_shape":[4,4,1],"layers":[`, `,{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`
	for layer, want := range map[string]string{
		`{"type":"conv2d","filters":2,"kernel_size":3,"activation":"mish"}`:                  `layer 1 (conv2d_1): unknown activation "mish" (linear, relu, relu6, leaky_relu, elu,`,
		`{"type":"activation","activation":"hardswish"}`:                                     `layer 1 (activation_1): unknown activation "hardswish"`,
		`{"type":"activation"}`:                                                              `layer 1 (activation_1): needs an activation (linear, relu,`,
		`{"type":"activation","activation":"softmax"}`:                                       `layer 1 (activation_1): softmax is only supported on the last layer, a dense layer`,
		`{"type":"activation","activation":"leaky_relu"}`:                                    `layer 1 (activation_1): leaky_relu needs an alpha, its slope below 0 (Keras' LeakyReLU layer defaults to 0.3`,
		`{"type":"conv2d","name":"c","filters":2,"kernel_size":3,"activation":"leaky_relu"}`: `layer 1 (c): leaky_relu needs an alpha`,
		`{"type":"leaky_relu"}`:                                                              `layer 1 (leaky_re_lu_1): leaky_relu needs an alpha`,
		`{"type":"leaky_relu","alpha":-0.1}`:                                                 `layer 1 (leaky_re_lu_1): leaky_relu's alpha must be at least 0 (got -0.1)`,
		`{"type":"activation","activation":"elu","alpha":-1}`:                                `layer 1 (activation_1): elu's alpha must be at least 0`,
		`{"type":"leaky_relu","alpha":0.1,"activation":"relu"}`:                              `layer 1: a leaky_relu layer takes no activation`,
		`{"type":"activation","activation":"tanh","alpha":0.5}`:                              `layer 1 (activation_1): activation tanh takes no alpha (only leaky_relu and elu do)`,
		`{"type":"activation","activation":"linear","alpha":0.5}`:                            `layer 1 (activation_1): a linear activation takes no alpha`,
		`{"type":"conv2d","filters":2,"kernel_size":3,"alpha":0.5}`:                          `layer 1 (conv2d_1): a linear activation takes no alpha`,
		`{"type":"conv2d","filters":2,"kernel_size":3,"activation":"relu","alpha":0.5}`:      `layer 1 (conv2d_1): activation relu takes no alpha`,
		`{"type":"relu","alpha":0.5}`:                                                        `layer 1: a relu layer takes no alpha`,
		`{"type":"maxpool2d","alpha":0.5}`:                                                   `layer 1: a maxpool2d layer takes no alpha`,
	} {
		_, err := ParseSpec([]byte(head + layer + tail))
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line starting %q", layer, err, want)
		}
	}
	// The last dense layer's softmax takes no alpha either.
	_, err := ParseSpec([]byte(`{"format":"vkcnn-sequential-1","input_shape":[4,4,1],"layers":[{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax","alpha":1}]}`))
	if want := "layer 2 (dense_1): activation softmax takes no alpha"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("softmax with alpha: %v; want %q", err, want)
	}
}

// TestActivationsBuild: every activation, in a layer of its own and as
// conv2d's and dense's, with the alpha it takes, round-trips through
// model.json; silu is swish.
func TestActivationsBuild(t *testing.T) {
	for _, js := range []string{
		`{"type":"activation","activation":"silu"}`, `{"type":"activation","activation":"elu"}`,
		`{"type":"activation","activation":"elu","alpha":0.5}`, `{"type":"leaky_relu","alpha":0.3}`,
		`{"type":"activation","activation":"linear"}`, `{"type":"conv2d","filters":2,"kernel_size":3,"activation":"gelu_tanh"}`,
		`{"type":"conv2d","filters":2,"kernel_size":3,"activation":"leaky_relu","alpha":0.01}`,
	} {
		data := `{"format":"vkcnn-sequential-1","input_shape":[4,4,1],"layers":[` + js + `,{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`
		spec, err := ParseSpec([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		out, err := spec.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(out)
		if err != nil || back.Layers[0].Activation != spec.Layers[0].Activation || (back.Layers[0].Alpha == nil) != (spec.Layers[0].Alpha == nil) {
			t.Fatalf("%s: round trip gave %s (%v)", js, out, err)
		}
	}
}

// TestDocsActivations: docs/models.md's table of activations has a row for
// each that model.json takes.
func TestDocsActivations(t *testing.T) {
	doc, err := os.ReadFile("../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "## Activations")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, name := range strings.Split(activationNames(), ", ") {
		if !regexp.MustCompile("(?m)^\\| [^|]*`" + name + "`").MatchString(section) {
			t.Errorf("docs/models.md's Activations table has no row for %s", name)
		}
	}
}

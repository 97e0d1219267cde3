package keras

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
)

// TestDepthwiseClasses: DepthwiseConv2D and SeparableConv2D keep Keras'
// tensor names, each SeparableConv2D one layer, and their initializers
// start the kernels Keras names them after (depthwise_initializer the
// depthwise_kernel). TestAgainstTensorFlowJS holds their counts.
func TestDepthwiseClasses(t *testing.T) {
	m := build(t, readFile(t, tfjsDepthwiseFile), Options{})
	var names []string
	for _, l := range m.Layers {
		for _, p := range l.Params {
			names = append(names, p.Name)
		}
		switch l.Spec.Name {
		case "dw":
			if l.Spec.Type != "depthwiseconv2d" || l.Spec.DepthMultiplier != 2 || l.Out.C != 16 || l.Out.H != 16 {
				t.Errorf("dw: %s, depth multiplier %d, output %v", l.Spec.Type, l.Spec.DepthMultiplier, l.Out)
			}
			if init := l.Spec.Initializers["depthwise_kernel"]; init.Type != "variance_scaling" || init.Scale != 2 {
				t.Errorf("dw's depthwise_kernel starts as %+v, want He normal", init)
			}
		case "sep":
			if _, ok := l.Spec.Initializers["pointwise_kernel"]; !ok || len(l.Spec.Initializers) != 3 {
				t.Errorf("sep's initializers are %v, want depthwise_kernel, pointwise_kernel and bias", l.Spec.Initializers)
			}
		}
	}
	want := "stem.kernel stem.bias dw.depthwise_kernel dw.bias dw_bn.gamma dw_bn.beta dw_bn.moving_mean dw_bn.moving_variance " +
		"sep.depthwise_kernel sep.pointwise_kernel sep.bias sep_valid.depthwise_kernel sep_valid.pointwise_kernel logits.kernel logits.bias"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("tensors %s\nwant %s", got, want)
	}
}

// TestDepthwiseRefusals: what vkcnn's depthwise kinds lack is refused in
// one line naming the layer.
func TestDepthwiseRefusals(t *testing.T) {
	data := readFile(t, tfjsDepthwiseFile)
	for _, c := range []struct{ from, to, want string }{
		{`"kernel_size":[3,3],"strides":[2,2],"padding":"same","data_format":"channels_last","dilation_rate":[1,1],"activation":"relu"`,
			`"kernel_size":[3,3],"strides":[2,2],"padding":"same","data_format":"channels_last","dilation_rate":[2,2],"activation":"relu"`,
			"layer dw (DepthwiseConv2D): dilation_rate [2 2] with strides [2 2]: Keras takes one or the other above 1"},
		{`"filters":16,"kernel_size":[3,3]`, `"filters":16,"kernel_size":[32,3]`, "layer sep (SeparableConv2D): kernel_size [32 3]: rows and columns, each 1 to 31"},
		{`"depth_multiplier":2,`, `"depth_multiplier":2,"groups":2,`, "layer dw (DepthwiseConv2D): groups 2: vkcnn's depthwiseconv2d takes 1"},
		{`"name":"sep","trainable":true,`, `"name":"sep","trainable":true,"groups":3,`, "layer sep (SeparableConv2D): groups 3: vkcnn's separableconv2d takes 1"},
	} {
		if !bytes.Contains(data, []byte(c.from)) {
			t.Fatalf("%s is not in %s", c.from, tfjsDepthwiseFile)
		}
		spec, err := Read(bytes.Replace(data, []byte(c.from), []byte(c.to), 1), Options{})
		if err == nil {
			_, err = nn.Build(spec)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want %q", c.to, err, c.want)
		}
	}
}

// TestDepthwiseTakesGroupsOne: tf.keras' DepthwiseConv2D and
// SeparableConv2D, subclasses of Conv2D, write its groups, 1.
func TestDepthwiseTakesGroupsOne(t *testing.T) {
	data := readFile(t, tfjsDepthwiseFile)
	data = bytes.Replace(data, []byte(`"depth_multiplier":2,`), []byte(`"depth_multiplier":2,"groups":1,`), 1)
	data = bytes.Replace(data, []byte(`"name":"sep","trainable":true,`), []byte(`"name":"sep","trainable":true,"groups":1,`), 1)
	if !bytes.Contains(data, []byte(`"groups":1`)) {
		t.Fatal("no groups written")
	}
	m := build(t, data, Options{})
	if m.CountParams() != build(t, readFile(t, tfjsDepthwiseFile), Options{}).CountParams() {
		t.Errorf("groups 1 changed the model")
	}
}

package nn

import (
	"os"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/numfmt"
)

func TestStandardModelHasThePapersParameterCount(t *testing.T) {
	spec, err := Preset("standard")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.CountParams(); got != 35445522 {
		t.Fatalf("%d parameters, want 35,445,522", got)
	}
	s := m.Summary()
	for _, want := range []string{"conv2d_1 (Conv2D)", "(None, 28, 28, 256)", "6,656", "dense_1 (Dense)", "(None, 328)", "32,915,784", "dropout_1 (Dropout)", "Total params: 35,445,522"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "Total params: 35,445,522\nTrainable params: 35,445,522\nNon-trainable params: 0\n"+strings.Repeat("_", 65)+"\n") {
		t.Errorf("summary:\n%s", s)
	}
}

// TestBatchNormParameters: Keras counts a batch normalization's moving
// statistics as non-trainable parameters, names its tensors gamma, beta,
// moving_mean and moving_variance, and starts gamma and the moving
// variance at one.
func TestBatchNormParameters(t *testing.T) {
	m, err := Build(bnSpec())
	if err != nil {
		t.Fatal(err)
	}
	// conv 5x5x1x8 + 8; batchnorm 4x8; dense 1568x16 + 16; batchnorm 4x16;
	// dense 16x10 + 10.
	total, nonTrainable := 208+32+25104+64+170, 2*8+2*16
	if m.CountParams() != total || m.CountTrainable() != total-nonTrainable {
		t.Fatalf("%d parameters, %d trainable; want %d and %d", m.CountParams(), m.CountTrainable(), total, total-nonTrainable)
	}
	s := m.Summary()
	for _, want := range []string{"batch_normalization_1 (Batch (None, 28, 28, 8)         32\n", "average_pooling2d_1 (Average (None, 14, 14, 8)         0\n",
		"batch_normalization_2 (Batch (None, 16)                64\n", "Total params: 25,578\nTrainable params: 25,530\nNon-trainable params: 48\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	var names []string
	for _, p := range m.Layers[1].Params {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "batch_normalization_1.gamma batch_normalization_1.beta batch_normalization_1.moving_mean batch_normalization_1.moving_variance" {
		t.Fatalf("tensors %s", got)
	}
	init := m.Init(1)
	for i, want := range []float32{1, 0, 0, 1} {
		p := m.Layers[1].Params[i]
		if p.Trainable != (i < 2) {
			t.Errorf("%s: trainable %v", p.Name, p.Trainable)
		}
		if (p.Offset < m.TrainableFloats) != p.Trainable {
			t.Errorf("%s at %d: the trainable parameters are the first %d floats", p.Name, p.Offset, m.TrainableFloats)
		}
		for _, v := range init[p.Offset : p.Offset+p.Size()] {
			if v != want {
				t.Fatalf("%s starts at %g, want %g", p.Name, v, want)
			}
		}
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	for _, name := range Presets {
		spec, _ := Preset(name)
		data, err := spec.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, data)
		}
		again, _ := back.JSON()
		if string(again) != string(data) {
			t.Fatalf("%s: round trip changed model.json:\n%s\n%s", name, data, again)
		}
	}
}

func TestBuildRejectsBadModels(t *testing.T) {
	cases := map[string]string{
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"conv2d","filters":4,"kernel_size":0,"activation":"relu"},{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`: "kernel_size [0 0]: rows and columns, each 1 to",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"dense","units":10,"activation":"softmax"}]}`:                                                                                      "not flat",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dense","units":10}]}`:                                                                                          "softmax activation",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"lstm"}]}`:                                                                                                                         "unknown layer type",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dropout","rate":1.5},{"type":"dense","units":10,"activation":"softmax"}]}`:                                     "rate",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[],"extra":1}`:                                                                                                                              "unknown field",
		`{"format":"other","input_shape":[28,28,1],"layers":[]}`:                                                                                                                                                     "model format",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dense","units":10,"activation":"mish"}]}`:                                                                      "unknown activation",
		`{"format":"vkcnn-sequential-1"`: "not a valid model.json",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten","name":"d"},{"type":"dense","name":"d","units":10,"activation":"softmax"}]}`:                                              "layer 2 (d): layer 1 has the same name",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten","name":"dense_1"},{"type":"dense","units":10,"activation":"softmax"}]}`:                                                   "layer 2 (dense_1): the default name dense_1 is already layer 1's",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten","name":""},{"type":"dense","units":10,"activation":"softmax"}]}`:                                                          "layer 1: an empty name",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dense","name":"adam_m/out","units":10,"activation":"softmax"}]}`:                                                `must not contain "/"`,
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dense","name":"out.kernel","units":10,"activation":"softmax"}]}`:                                                `must not contain "/" or "."`,
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}}`:                                                                   "not a valid model.json",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten","units":3},{"type":"dense","units":10,"activation":"softmax"}]}`:                                                          "layer 1: a flatten layer takes no units",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"batchnorm","activation":"relu"},{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`:                           "a batchnorm layer takes no activation",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"flatten"},{"type":"batchnorm"},{"type":"conv2d","filters":2,"kernel_size":3},{"type":"dense","units":10,"activation":"softmax"}]}`: "layer 3 (conv2d_1): a convolution after flatten or dense",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"avgpool2d"},{"type":"conv2d","filters":10,"kernel_size":3,"activation":"softmax"}]}`:                                               "softmax is only supported on the last layer, a dense layer",
		`{"format":"vkcnn-sequential-1","input_shape":[1,5,1],"layers":[{"type":"avgpool2d"},{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`:                                                 "input (None, 1, 5, 1) is too small to pool",
		`{"format":"vkcnn-sequential-1","input_shape":[28,28,1],"layers":[{"type":"softmax"}]}`:                                                                                                                       "write the softmax as the last dense layer's activation",
	}
	for js, want := range cases {
		_, err := ParseSpec([]byte(js))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", js, err, want)
		}
	}
}

func TestGlorotInit(t *testing.T) {
	spec, _ := Preset("small")
	m, _ := Build(spec)
	a, b := m.Init(1), m.Init(1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("one seed, two initialisations")
		}
	}
	k := m.Params[0] // conv2d_1.kernel 5x5x1x32: limit sqrt(6/(25+800))
	limit := 0.08528
	maxAbs := 0.0
	for i := 0; i < k.Size(); i++ {
		maxAbs = max(maxAbs, float64(abs32(a[k.Offset+i])))
	}
	if maxAbs > limit || maxAbs < 0.9*limit {
		t.Fatalf("conv2d_1.kernel max |w| %g, want just under %g", maxAbs, limit)
	}
	bias := m.Params[1]
	for i := 0; i < bias.Size(); i++ {
		if a[bias.Offset+i] != 0 {
			t.Fatal("bias not zero")
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// TestDocsModel: the model.json example of docs/models.md builds, with
// batch normalization and average pooling, and has the parameters it says.
func TestDocsModel(t *testing.T) {
	readme, err := os.ReadFile("../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Your own model")
	_, example, ok2 := strings.Cut(section, "```json\n")
	example, _, ok3 := strings.Cut(example, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no model.json example under \"## Your own model\" in docs/models.md")
	}
	spec, err := ParseSpec([]byte(example))
	if err != nil {
		t.Fatalf("docs/models.md's example: %v", err)
	}
	m, _ := Build(spec)
	kinds := map[string]bool{}
	for _, l := range m.Layers {
		kinds[l.Spec.Type] = true
	}
	if !kinds["batchnorm"] || !kinds["avgpool2d"] {
		t.Fatalf("docs/models.md's example has layers %v", kinds)
	}
	total, nonTrainable := numfmt.Commas(m.CountParams()), numfmt.Commas(m.CountParams()-m.CountTrainable())
	if want := "It has " + total + " parameters, " + nonTrainable + " of them non-trainable"; !strings.Contains(strings.Join(strings.Fields(section), " "), want) {
		t.Fatalf("docs/models.md does not say %q", want)
	}
}

// TestGraphSummaryConnects: a graph model's summary is as Keras prints a
// functional model's, 98 characters wide, from its input layer, with the
// tensors each layer reads in a Connected to column, one a row.
func TestGraphSummaryConnects(t *testing.T) {
	m, err := Build(ModelSpec{Format: GraphFormat, Input: [3]int{28, 28, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "left", Filters: 3, KernelSize: Pair{3, 3}, Activation: "relu"},
		{Type: "conv2d", Name: "right", Filters: 2, KernelSize: Pair{1, 1}, Inputs: []string{"input"}},
		{Type: "concatenate", Name: "joined", Inputs: []string{"left", "right"}},
		{Type: "flatten"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rule, double := strings.Repeat("_", 98), strings.Repeat("=", 98)
	want := strings.Join([]string{rule,
		"Layer (type)                    Output Shape         Param #     Connected to",
		double,
		"input (InputLayer)              (None, 28, 28, 1)    0",
		rule,
		"left (Conv2D)                   (None, 28, 28, 3)    30          input[0][0]",
		rule,
		"right (Conv2D)                  (None, 28, 28, 2)    4           input[0][0]",
		rule,
		"joined (Concatenate)            (None, 28, 28, 5)    0           left[0][0]",
		"                                                                 right[0][0]",
		rule,
		"flatten_1 (Flatten)             (None, 3920)         0           joined[0][0]",
		rule,
		"dense_1 (Dense)                 (None, 10)           39,210      flatten_1[0][0]",
		double,
		"Total params: 39,244", "Trainable params: 39,244", "Non-trainable params: 0", rule, ""}, "\n")
	if got := m.Summary(); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

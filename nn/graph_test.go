package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// graphJSON is a model.json graph with the layers given, between an
// input of 8x8x1 and a last dense layer reading the layer before it.
func graphJSON(layers string) string {
	return `{"format":"vkcnn-graph-1","input_shape":[8,8,1],"layers":[` + layers +
		`,{"type":"flatten"},{"type":"dense","units":10,"activation":"softmax"}]}`
}

// TestGraphRefusals: each way a graph can be wrong is refused before any
// work, in one line naming the layer.
func TestGraphRefusals(t *testing.T) {
	for _, c := range []struct{ what, js, want string }{
		{"a cycle", graphJSON(`{"type":"conv2d","name":"a","filters":2,"kernel_size":3,"inputs":["b"]},{"type":"relu","name":"b"}`),
			`layer 1 (a): input "b" makes a cycle: a -> b -> a`},
		{"a layer reading itself", graphJSON(`{"type":"relu","name":"a","inputs":["a"]}`),
			`layer 1 (a): input "a" makes a cycle: a -> a`},
		{"a layer reading a later one", graphJSON(`{"type":"relu","name":"a","inputs":["c"]},{"type":"relu","name":"b","inputs":["input"]},{"type":"add","name":"c","inputs":["b","input"]},{"type":"add","inputs":["a","c"]}`),
			`layer 1 (a): input "c" comes after it: a layer must follow the layers it reads`},
		{"an unknown input", graphJSON(`{"type":"relu","name":"a","inputs":["nope"]}`),
			`layer 1 (a): input "nope" is no layer's name (the inputs are "input" and earlier layers)`},
		{"an input named twice", graphJSON(`{"type":"relu","name":"a"},{"type":"add","name":"s","inputs":["a","a"]}`),
			`layer 2 (s): input "a" is named twice`},
		{"two layers of one name", graphJSON(`{"type":"relu","name":"a"},{"type":"relu","name":"a"}`),
			`layer 2 (a): layer 1 has the same name; layer names must be unique`},
		{"a layer named input", graphJSON(`{"type":"relu","name":"input"}`),
			`layer 1 (input): a graph's inputs name the model's input "input": name the layer otherwise`},
		{"an add of two shapes", graphJSON(`{"type":"maxpool2d","name":"p"},{"type":"add","name":"s","inputs":["p","input"]}`),
			`layer 2 (s): input input has shape (None, 8, 8, 1), p (None, 4, 4, 1): an add layer's inputs have one shape`},
		{"a concatenation of two sizes", graphJSON(`{"type":"maxpool2d","name":"p"},{"type":"concatenate","name":"j","inputs":["input","p"]}`),
			`layer 2 (j): input p has shape (None, 4, 4, 1), input (None, 8, 8, 1): a concatenate layer's inputs differ in channels alone`},
		{"an add of one input", graphJSON(`{"type":"add","name":"s","inputs":["input"]}`),
			`layer 1 (s): an add layer sums two inputs or more: name them in its inputs`},
		{"two inputs to a layer of one", graphJSON(`{"type":"relu","name":"a"},{"type":"relu","name":"b","inputs":["a","input"]}`),
			`layer 2 (b): a relu layer takes one input (it names 2)`},
		{"an output nothing reads", graphJSON(`{"type":"relu","name":"unread"},{"type":"relu","inputs":["input"]}`),
			`layer 1 (unread): no layer reads its output (only the last layer's output is the model's)`},
		{"inputs in a sequential model", strings.Replace(graphJSON(`{"type":"relu","inputs":["input"]}`), "vkcnn-graph-1", "vkcnn-sequential-1", 1),
			`layer 1 (relu_1): a layer names its inputs in a "vkcnn-graph-1" model, not a "vkcnn-sequential-1" one`},
	} {
		_, err := ParseSpec([]byte(c.js))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v\nwant %s", c.what, err, c.want)
		}
	}
}

// TestGraphJSONRoundTrip: a graph's model.json reads back as it was
// written, its inputs kept.
func TestGraphJSONRoundTrip(t *testing.T) {
	data, err := graphSpec().JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSpec(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	again, _ := back.JSON()
	if string(again) != string(data) || !strings.Contains(string(data), `"inputs": [`) {
		t.Fatalf("round trip changed model.json:\n%s\n%s", data, again)
	}
}

// TestGraphGradientsRouteAndShare: graphSpec's input gradients take each
// route, and gradients whose lifetimes do not overlap share buffers; a
// sequential model's take a buffer of their own only where a layer works
// in place.
func TestGraphGradientsRouteAndShare(t *testing.T) {
	m, err := Build(graphSpec())
	if err != nil {
		t.Fatal(err)
	}
	tuning := kernels.NewTuning(vk.DeviceInfo{}, kernels.FP32, nil)
	p := newPlan(m, 4, tuning, true)
	got := map[string][]route{}
	for i, l := range m.Layers {
		got[l.Spec.Name] = p.routes[i]
	}
	for name, want := range map[string][]route{
		"left": {noGradient}, "right": {noGradient}, "joined": {direct, direct},
		"batch_normalization_1": {addOwn}, // after residual's part
		"residual":              {direct, direct},
		"flat":                  {addOwn}, "cut": {copyOwn}, // the max pool's, the later reader's first
		"features": {addSum}, "vectors": {direct, direct, direct},
	} {
		if !slices.Equal(got[name], want) {
			t.Errorf("%s: routes %v, want %v", name, got[name], want)
		}
	}
	if want := []int{4 * 14 * 14 * 5}; !slices.Equal(p.sums, want) {
		t.Errorf("sum scratch of %v floats, want the flatten's %v", p.sums, want)
	}
	// A layer of two inputs whose later readers came first takes a
	// scratch for each.
	joins, err := Build(joinsSpec())
	if err != nil {
		t.Fatal(err)
	}
	jp := newPlan(joins, 4, tuning, true)
	if !slices.Equal(jp.routes[2], []route{addSum, addSum}) || !slices.Equal(jp.sums, []int{4 * 28 * 28 * 2, 4 * 28 * 28 * 3}) {
		t.Errorf("joinsSpec: the sum's routes %v, sum scratch %v", jp.routes[2], jp.sums)
	}
	if len(p.grads) >= len(m.Layers) {
		t.Errorf("%d gradient buffers for %d tensors: none shared", len(p.grads), len(m.Layers))
	}
	unshared := newPlan(m, 4, tuning, false)
	if len(unshared.grads) <= len(p.grads) {
		t.Errorf("unshared: %d gradient buffers, shared %d", len(unshared.grads), len(p.grads))
	}
	for _, name := range []string{"small", "standard"} {
		spec, _ := Preset(name)
		m, _ := Build(spec)
		// small: the gradients of conv, pool, conv, pool and flatten (one
		// with the pool's), dense and the logits, two live at a time.
		if n := len(newPlan(m, 4, tuning, true).grads); n != 2 {
			t.Errorf("%s: %d gradient buffers, want 2", name, n)
		}
	}
}

// TestGraphResumeIsBitIdentical stops a graph's run mid-epoch, resumes it
// from its checkpoint in a new network and expects the weights of an
// uninterrupted run.
func TestGraphResumeIsBitIdentical(t *testing.T) {
	ctx := vktest.Open(t)
	rng := rand.New(rand.NewPCG(23, 24))
	images, labels := randomSet(rng, 40)
	cfg := TrainConfig{Epochs: 2, BatchSize: 8, StepsPerEpoch: 3, LR: 1e-3, Seed: 4, Shuffle: true}
	path := filepath.Join(t.TempDir(), "checkpoint.safetensors")
	run := func(hooks *Hooks, resume func(*Net) *TrainState) ([]float32, error) {
		net := newTestNet(t, ctx, graphSpec(), 8, 4)
		var st *TrainState
		if resume != nil {
			st = resume(net)
		}
		if hooks != nil {
			hooks.Checkpoint = func(st *TrainState) error { return net.SaveCheckpoint(path, cfg, st) }
		}
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		_, trainErr := Train(net, set, nil, cfg, hooks, st)
		p, err := net.Params()
		if err != nil {
			t.Fatal(err)
		}
		return p, trainErr
	}
	want, err := run(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	if _, err := run(&Hooks{Stop: func() bool { steps++; return steps == 4 }}, nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("stopping: %v", err)
	}
	got, err := run(nil, func(net *Net) *TrainState {
		params, adamM, adamV, _, st, err := net.Model.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(net.SetParams(params), net.SetOptimizerState(adamM, adamV)); err != nil {
			t.Fatal(err)
		}
		return st
	})
	if err != nil {
		t.Fatalf("resuming: %v", err)
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("parameter %d is %g after resuming, %g uninterrupted", i, got[i], want[i])
		}
	}
}

// TestDataShapedPresets counts resnet20's and mobilenet's parameters at
// CIFAR's and MNIST's shapes, as docs/models.md states them, and checks
// the last block's shape. Keras' ResNet v1 example at depth 20 has
// 274,442, with biases and no normalized shortcut: 784 biases more and
// 384 normalization values fewer. Less its dense layer's 5,130, mobilenet
// at 32x32x3 is Keras' MobileNet(alpha=0.5, include_top=False), 829,536.
func TestDataShapedPresets(t *testing.T) {
	for _, c := range []struct {
		preset           string
		input            [3]int
		total, trainable int
		last             Shape
	}{
		{"resnet20", [3]int{32, 32, 3}, 274042, 272474, Shape{8, 8, 64}},
		{"resnet20", [3]int{28, 28, 1}, 273754, 272186, Shape{7, 7, 64}},
		{"mobilenet", [3]int{32, 32, 3}, 834666, 823722, Shape{2, 2, 512}},
		{"mobilenet", [3]int{28, 28, 1}, 834378, 823434, Shape{2, 2, 512}},
	} {
		spec, err := PresetFor(c.preset, c.input, 10)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		if m.CountParams() != c.total || m.CountTrainable() != c.trainable {
			t.Errorf("%s %v: %d parameters, %d trainable; want %d, %d", c.preset, c.input, m.CountParams(), m.CountTrainable(), c.total, c.trainable)
		}
		if got := m.Layers[len(m.Layers)-3].Out; got != c.last {
			t.Errorf("%s %v: the last block's output is %v, want %v", c.preset, c.input, got, c.last)
		}
		if spec, _ := Preset(c.preset); spec.Input != [3]int{32, 32, 3} || !DataShaped(c.preset) {
			t.Errorf("%s's default input %v", c.preset, spec.Input)
		}
	}
	if DataShaped("small") {
		t.Error("small takes the data set's shape")
	}
}

// TestDocsGraph: the residual block of docs/models.md builds, a graph
// with an add, and has the parameters it says.
func TestDocsGraph(t *testing.T) {
	page, err := os.ReadFile("../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(page), "## Graphs")
	_, example, ok2 := strings.Cut(section, "```json\n")
	example, after, ok3 := strings.Cut(example, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no model.json example under \"## Graphs\" in docs/models.md")
	}
	spec, err := ParseSpec([]byte(example))
	if err != nil {
		t.Fatalf("docs/models.md's graph: %v", err)
	}
	m, _ := Build(spec)
	if spec.Format != GraphFormat || !slices.ContainsFunc(m.Layers, func(l *Layer) bool { return l.Spec.Type == "add" }) {
		t.Fatalf("docs/models.md's graph is a %s without an add", spec.Format)
	}
	total, nonTrainable := numfmt.Commas(m.CountParams()), numfmt.Commas(m.CountParams()-m.CountTrainable())
	if want := "It has " + total + " parameters, " + nonTrainable + " of them non-trainable"; !strings.Contains(strings.Join(strings.Fields(after), " "), want) {
		t.Fatalf("docs/models.md does not say %q after its graph", want)
	}
}

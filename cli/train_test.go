package cli

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"vkcnn/mnist"
	"vkcnn/nn"
)

// dataDir is the real MNIST that ./build.sh test fetches; tests that need
// it skip without it.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", mnist.DefaultDir)
	if _, _, err := mnist.Load(dir); errors.Is(err, mnist.ErrNoData) {
		t.Skipf("no MNIST data: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// tinyModel has batch normalization, whose moving statistics evaluation,
// prediction and resuming must take from the run.
const tinyModel = `{"format": "vkcnn-sequential-1", "name": "tiny", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
  {"type": "batchnorm"},
  {"type": "maxpool2d"},
  {"type": "flatten"},
  {"type": "dense", "units": 16, "activation": "relu"},
  {"type": "dropout", "rate": 0.25},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`

func writeTinyModel(t *testing.T) string {
	t.Helper()
	return writeModel(t, tinyModel)
}

// writeModel writes a model.json and returns its path.
func writeModel(t *testing.T, js string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, status := runVkcnn(t, nil, args...)
	if status != 0 {
		t.Fatalf("vkcnn %s: status %d: %s", strings.Join(args, " "), status, stderr)
	}
	return stdout
}

// TestTrainEvalPredictPlot runs a short training, then uses the run as a
// user would.
func TestTrainEvalPredictPlot(t *testing.T) {
	data := dataDir(t)
	model := writeTinyModel(t)
	run := filepath.Join(t.TempDir(), "run")
	out := mustRun(t, "train", "--model", model, "--epochs", "2", "--steps-per-epoch", "20", "--batch-size", "32", "--lr", "3e-3",
		"--shift-px", "1", "--data", data, "--out", run)
	if want := "\n2 epochs of 20 steps (--steps-per-epoch; a whole epoch is 1,875): 40 steps in all\n"; !strings.Contains(out, want) {
		t.Errorf("no line %q before training:\n%s", strings.TrimSpace(want), out)
	}
	epochLines := regexp.MustCompile(`(?m)^Epoch (\d)/2 - \d+s - loss: [\d.]+ - acc: [\d.]+ - val_loss: [\d.]+ - val_acc: ([\d.]+)`).FindAllStringSubmatch(out, -1)
	if len(epochLines) != 2 {
		t.Fatalf("want two Keras-like epoch lines:\n%s", out)
	}
	for _, f := range []string{"model.json", "weights.safetensors", "history.csv", "accuracy.png"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("the run folder lacks %s", f)
		}
	}

	logits := filepath.Join(t.TempDir(), "logits.npy")
	evalOut := mustRun(t, "eval", "--run", run, "--data", data, "--logits", logits)
	valAcc := epochLines[1][2]
	if !strings.Contains(evalOut, "Test accuracy: "+valAcc+"\n") {
		t.Errorf("eval disagrees with the last epoch's val_acc %s:\n%s", valAcc, evalOut)
	}
	if !strings.Contains(evalOut, "Confusion matrix") {
		t.Errorf("no confusion matrix:\n%s", evalOut)
	}
	npy, err := os.ReadFile(logits)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(npy, []byte("\x93NUMPY")) || !bytes.Contains(npy[:128], []byte("'shape': (10000, 10)")) || !bytes.Contains(npy[:128], []byte("<f4")) {
		t.Fatalf("logits header: %q", npy[:min(len(npy), 128)])
	}
	if want := 10000 * 10 * 4; len(npy) < want || len(npy) > want+256 {
		t.Fatalf("logits file of %d bytes", len(npy))
	}

	// A test digit as a user's PNG: once as MNIST has it, once dark on
	// light and twice the size.
	_, test, err := mnist.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain, inverted := filepath.Join(dir, "digit.png"), filepath.Join(dir, "dark.png")
	writePNG(t, plain, test.Images[:mnist.Pixels], 1, false)
	writePNG(t, inverted, test.Images[:mnist.Pixels], 2, true)
	pred := mustRun(t, "predict", "--run", run, plain, inverted)
	lines := strings.Split(strings.TrimSpace(pred), "\n")
	re := regexp.MustCompile(`: (\d) \(probability (0\.\d+|1\.0+)\)`)
	if len(lines) != 2 || !re.MatchString(lines[0]) || !re.MatchString(lines[1]) || !strings.Contains(lines[1], "inverted") {
		t.Fatalf("predict:\n%s", pred)
	}
	if re.FindStringSubmatch(lines[0])[1] != re.FindStringSubmatch(lines[1])[1] {
		t.Errorf("the same digit, inverted and scaled, got another class:\n%s", pred)
	}

	cmp := filepath.Join(dir, "cmp.png")
	mustRun(t, "plot", "--out", cmp, run, run)
	if f, err := os.Open(cmp); err != nil {
		t.Fatal(err)
	} else if _, err := png.Decode(f); err != nil {
		t.Fatalf("plot: %v", err)
	}
}

func writePNG(t *testing.T, path string, pixels []byte, scale int, invert bool) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 28*scale, 28*scale))
	for y := 0; y < 28*scale; y++ {
		for x := 0; x < 28*scale; x++ {
			v := pixels[(y/scale)*28+x/scale]
			if invert {
				v = 255 - v
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadTrainingInput runs the binary on each row's input and expects the
// row's exit status and one line on stderr with its words: a hole found in
// the command line is one more row.
func TestBadTrainingInput(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(notImage, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	badModel := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badModel, []byte(`{"format": "vkcnn-sequential-1", "input_shape": [28,28,1], "layers": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A run folder whose weights belong to another model, and one whose
	// files are damaged.
	smallSpec, _ := nn.Preset("small")
	small, _ := nn.Build(smallSpec)
	smallWeights := filepath.Join(dir, "small.safetensors")
	if err := small.SaveWeights(smallWeights, small.Init(1)); err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(dir, "torn")
	if err := os.MkdirAll(torn, 0o755); err != nil {
		t.Fatal(err)
	}
	js, _ := smallSpec.JSON()
	whole, _ := os.ReadFile(smallWeights)
	if err := errors.Join(os.WriteFile(filepath.Join(torn, "model.json"), js, 0o644),
		os.WriteFile(filepath.Join(torn, "weights.safetensors"), whole[:len(whole)/2], 0o644)); err != nil {
		t.Fatal(err)
	}
	smallRun := filepath.Join(dir, "smallrun")
	if err := errors.Join(os.MkdirAll(smallRun, 0o755), os.WriteFile(filepath.Join(smallRun, "model.json"), js, 0o644),
		os.Link(smallWeights, filepath.Join(smallRun, "weights.safetensors"))); err != nil {
		t.Fatal(err)
	}
	badJSON := filepath.Join(dir, "badjson")
	if err := errors.Join(os.MkdirAll(badJSON, 0o755), os.WriteFile(filepath.Join(badJSON, "model.json"), js[:len(js)-9], 0o644)); err != nil {
		t.Fatal(err)
	}
	// Models that must not train: the output does not match MNIST's
	// classes, or a layer name that the weights files cannot hold.
	model := func(name, layers string) string {
		path := filepath.Join(dir, name+".json")
		js := `{"format": "vkcnn-sequential-1", "input_shape": [28, 28, 1], "layers": [{"type": "flatten"` + layers + `]}`
		if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sevenUnits := model("seven", `}, {"type": "dense", "units": 7, "activation": "softmax"}`)
	sevenRun := filepath.Join(dir, "sevenrun")
	if err := errors.Join(os.MkdirAll(sevenRun, 0o755), os.Link(sevenUnits, filepath.Join(sevenRun, "model.json"))); err != nil {
		t.Fatal(err)
	}
	duplicate := model("duplicate", `, "name": "d"}, {"type": "dense", "name": "d", "units": 10, "activation": "softmax"}`)
	defaultTaken := model("default", `, "name": "dense_1"}, {"type": "dense", "units": 10, "activation": "softmax"}`)
	emptyName := model("empty", `, "name": ""}, {"type": "dense", "units": 10, "activation": "softmax"}`)
	slashName := model("slash", `}, {"type": "dense", "name": "adam_m/out", "units": 10, "activation": "softmax"}`)
	dotName := model("dot", `}, {"type": "dense", "name": "out.kernel", "units": 10, "activation": "softmax"}`)
	// Rows that train read the real MNIST; they skip without it.
	data, err := filepath.Abs(filepath.Join("..", mnist.DefaultDir))
	if err != nil {
		t.Fatal(err)
	}
	noData := []string{"--data", "/nonexistent", "--out", filepath.Join(dir, "r")} // the model must fail first
	cases := []struct {
		args   []string
		status int
		want   string // in the one line on stderr
	}{
		{[]string{"train", "--model", writeTinyModel(t), "--init", smallWeights, "--out", filepath.Join(dir, "r2")}, 1, "conv2d_1.kernel has shape [5 5 1 32], the model needs [3 3 1 4]"},
		{[]string{"eval", "--run", torn}, 1, "weights.safetensors"},
		{[]string{"eval", "--run", badJSON}, 1, "not a valid model.json"},
		{[]string{"train", "--epochs", "0"}, 1, "epochs 0 must be positive"},
		{[]string{"train", "--batch-size", "-3"}, 1, "batch size -3 must be positive"},
		{[]string{"train", "--lr", "0"}, 1, "learning rate 0 must be a positive number"},
		{[]string{"train", "--lr", "fast"}, 1, "invalid value"},
		{[]string{"train", "--shift", "1.5"}, 1, "--shift 1.5: must lie in [0, 1)"},
		{[]string{"train", "--shift-px", "-1"}, 1, "--shift-px -1"},
		{[]string{"train", "--shift", "0.1", "--shift-px", "2"}, 1, "cannot both be set"},
		{[]string{"train", "--dropout", "1"}, 1, "--dropout 1"},
		{[]string{"train", "--model", "resnet"}, 1, "unknown model"},
		{[]string{"train", "--model", badModel}, 1, "not a valid model.json"},
		{append([]string{"train", "--model", sevenUnits}, noData...), 1, "seven.json: the last layer has 7 units; MNIST has 10 classes"},
		{[]string{"eval", "--run", sevenRun}, 1, "the last layer has 7 units; MNIST has 10 classes"},
		{append([]string{"train", "--model", duplicate}, noData...), 1, "layer 2 (d): layer 1 has the same name; layer names must be unique"},
		{[]string{"summary", "--model", defaultTaken}, 1, "layer 2 (dense_1): the default name dense_1 is already layer 1's"},
		{append([]string{"train", "--model", emptyName}, noData...), 1, "layer 1: an empty name"},
		{append([]string{"train", "--model", slashName}, noData...), 1, `layer 2 (adam_m/out): the name must not contain "/" or "."`},
		{append([]string{"train", "--model", dotName}, noData...), 1, `layer 2 (out.kernel): the name must not contain "/" or "."`},
		{[]string{"train", "--steps-per-epoch", "-1"}, 1, "steps per epoch -1 must not be negative"},
		{[]string{"train", "--steps", "-1"}, 1, "steps per epoch -1 must not be negative"},
		{[]string{"train", "--steps", "5", "--steps-per-epoch", "5"}, 1, "--steps is the old name of --steps-per-epoch: give one of them"},
		{[]string{"train", "--resume", dir, "--steps-per-epoch", "5"}, 1, "drop --steps-per-epoch"},
		{[]string{"train", "--model", writeTinyModel(t), "--steps", "1", "--epochs", "1", "--val-split", "0.01", "--data", data, "--out", filepath.Join(dir, "r3")},
			0, "note: --steps is the old name of --steps-per-epoch: at most 1 step in each of 1 epoch"},
		{[]string{"train", "--keep", "first"}, 1, "--keep"},
		{[]string{"train", "--fill", "reflect", "--shift", "0.1"}, 1, "unknown fill"},
		{[]string{"train", "--val-split", "1"}, 1, "validation split"},
		{[]string{"train", "--model", "small", "--out", "/proc/vkcnn-run"}, 1, "create run folder"},
		{[]string{"train", "--model", "small", "--data", "/nonexistent", "--out", filepath.Join(dir, "r")}, 1, "run ./build.sh data"},
		{[]string{"eval", "--run", dir}, 1, "not a run folder"},
		{[]string{"eval"}, 1, "Required flag \"run\""},
		{[]string{"export", "--run", dir, "--onnx", filepath.Join(dir, "x.onnx")}, 1, "not a run folder"},
		{[]string{"export", "--run", torn, "--onnx", filepath.Join(dir, "x.onnx")}, 1, "weights.safetensors"},
		{[]string{"export", "--run", smallRun, "--onnx", "/proc/vkcnn.onnx"}, 1, "write /proc/vkcnn.onnx"},
		{[]string{"export", "--run", smallRun}, 1, "Required flag \"onnx\""},
		{[]string{"predict", "--run", dir}, 1, "no images given"},
		{[]string{"predict", "--run", dir, notImage}, 1, "not a PNG or JPEG image"},
		{[]string{"plot", "--out", filepath.Join(dir, "x.png"), dir}, 1, "history"},
		{[]string{"summary", "--model", "lenet"}, 1, "unknown model"},
		{[]string{"augment", "--n", "101", "--out", "x.png"}, 1, "--n 101"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			if slices.Contains(c.args, data) {
				dataDir(t)
			}
			_, stderr, status := runVkcnn(t, nil, c.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if status != c.status || len(lines) != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("status %d, stderr %q; want status %d and one line with %q", status, stderr, c.status, c.want)
			}
		})
	}
}

func TestStepsLine(t *testing.T) {
	cfg := nn.TrainConfig{Epochs: 20, BatchSize: 32}
	cut, beyond := cfg, cfg
	cut.StepsPerEpoch, beyond.StepsPerEpoch = 1, 5000
	one, oneCut := cfg, cut
	one.Epochs, oneCut.Epochs = 1, 1
	cases := []struct {
		cfg    nn.TrainConfig
		resume *nn.TrainState
		want   string
	}{
		{cfg, nil, "20 epochs of 1,875 steps: 37,500 steps in all"},
		{cut, nil, "20 epochs of 1 step (--steps-per-epoch; a whole epoch is 1,875): 20 steps in all"},
		{beyond, nil, "20 epochs of 1,875 steps: 37,500 steps in all"},
		{one, nil, "1 epoch of 1,875 steps: 1,875 steps in all"},
		{oneCut, nil, "1 epoch of 1 step (--steps-per-epoch; a whole epoch is 1,875): 1 step in all"},
		{cfg, &nn.TrainState{Epoch: 3, Done: 5}, "20 epochs of 1,875 steps: 37,500 steps in all, 33,745 to go"},
	}
	for _, c := range cases {
		if got := stepsLine(c.cfg, 60000, c.resume); got != c.want {
			t.Errorf("%+v, resume %+v: %q, want %q", c.cfg, c.resume, got, c.want)
		}
	}
}

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

const tinyModel = `{"format": "vkcnn-sequential-1", "name": "tiny", "input_shape": [28, 28, 1], "layers": [
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
  {"type": "maxpool2d"},
  {"type": "flatten"},
  {"type": "dense", "units": 16, "activation": "relu"},
  {"type": "dropout", "rate": 0.25},
  {"type": "dense", "units": 10, "activation": "softmax"}]}`

func writeTinyModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.json")
	if err := os.WriteFile(path, []byte(tinyModel), 0o644); err != nil {
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
	out := mustRun(t, "train", "--model", model, "--epochs", "2", "--steps", "20", "--batch-size", "32", "--lr", "3e-3",
		"--shift-px", "1", "--data", data, "--out", run)
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
	badJSON := filepath.Join(dir, "badjson")
	if err := errors.Join(os.MkdirAll(badJSON, 0o755), os.WriteFile(filepath.Join(badJSON, "model.json"), js[:len(js)-9], 0o644)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", writeTinyModel(t), "--init", smallWeights, "--out", filepath.Join(dir, "r2")}, "conv2d_1.kernel has shape [5 5 1 32], the model needs [3 3 1 4]"},
		{[]string{"eval", "--run", torn}, "weights.safetensors"},
		{[]string{"eval", "--run", badJSON}, "not a valid model.json"},
		{[]string{"train", "--epochs", "0"}, "epochs 0 must be positive"},
		{[]string{"train", "--batch-size", "-3"}, "batch size -3 must be positive"},
		{[]string{"train", "--lr", "0"}, "learning rate 0 must be a positive number"},
		{[]string{"train", "--lr", "fast"}, "invalid value"},
		{[]string{"train", "--shift", "1.5"}, "--shift 1.5: must lie in [0, 1)"},
		{[]string{"train", "--shift-px", "-1"}, "--shift-px -1"},
		{[]string{"train", "--shift", "0.1", "--shift-px", "2"}, "cannot both be set"},
		{[]string{"train", "--dropout", "1"}, "--dropout 1"},
		{[]string{"train", "--model", "resnet"}, "unknown model"},
		{[]string{"train", "--model", badModel}, "not a valid model.json"},
		{[]string{"train", "--keep", "first"}, "--keep"},
		{[]string{"train", "--fill", "reflect", "--shift", "0.1"}, "unknown fill"},
		{[]string{"train", "--val-split", "1"}, "validation split"},
		{[]string{"train", "--model", "small", "--out", "/proc/vkcnn-run"}, "create run folder"},
		{[]string{"train", "--model", "small", "--data", "/nonexistent", "--out", filepath.Join(dir, "r")}, "run ./build.sh data"},
		{[]string{"eval", "--run", dir}, "not a run folder"},
		{[]string{"eval"}, "Required flag \"run\""},
		{[]string{"predict", "--run", dir}, "no images given"},
		{[]string{"predict", "--run", dir, notImage}, "not a PNG or JPEG image"},
		{[]string{"plot", "--out", filepath.Join(dir, "x.png"), dir}, "history"},
		{[]string{"summary", "--model", "lenet"}, "unknown model"},
		{[]string{"augment", "--n", "101", "--out", "x.png"}, "--n 101"},
	}
	for _, c := range cases {
		_, stderr, status := runVkcnn(t, nil, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if status != 1 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("vkcnn %s: status %d, stderr %q; want status 1 and one line with %q", strings.Join(c.args, " "), status, stderr, c.want)
		}
	}
}

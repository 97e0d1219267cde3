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

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
)

// dataDir is the real MNIST that ./build.sh test fetches; tests that need
// it skip without it.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", dataset.DefaultDir)
	if _, err := dataset.Load(dir); errors.Is(err, dataset.ErrNoData) {
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
	d, err := dataset.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain, inverted := filepath.Join(dir, "digit.png"), filepath.Join(dir, "dark.png")
	writePNG(t, plain, d.Test.Images[:digits.Values()], digits, 1, false)
	writePNG(t, inverted, d.Test.Images[:digits.Values()], digits, 2, true)
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

// writePNG writes an image of g (HWC bytes) as a PNG, grey or RGB, each
// pixel scale x scale, inverted if asked.
func writePNG(t *testing.T, path string, pixels []byte, g augment.Geometry, scale int, invert bool) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, g.Width*scale, g.Height*scale))
	for y := range g.Height * scale {
		for x := range g.Width * scale {
			p := pixels[((y/scale)*g.Width+x/scale)*g.Channels:]
			var rgb [3]uint8
			for k := range rgb {
				rgb[k] = p[min(k, g.Channels-1)]
				if invert {
					rgb[k] = 255 - rgb[k]
				}
			}
			img.SetRGBA(x, y, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
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
	// Models that must not train: a layer name that the weights files
	// cannot hold.
	model := func(name, layers string) string {
		path := filepath.Join(dir, name+".json")
		js := `{"format": "vkcnn-sequential-1", "input_shape": [28, 28, 1], "layers": [{"type": "flatten"` + layers + `]}`
		if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bad := writeBadData(t, dir)
	duplicate := model("duplicate", `, "name": "d"}, {"type": "dense", "name": "d", "units": 10, "activation": "softmax"}`)
	defaultTaken := model("default", `, "name": "dense_1"}, {"type": "dense", "units": 10, "activation": "softmax"}`)
	emptyName := model("empty", `, "name": ""}, {"type": "dense", "units": 10, "activation": "softmax"}`)
	slashName := model("slash", `}, {"type": "dense", "name": "adam_m/out", "units": 10, "activation": "softmax"}`)
	dotName := model("dot", `}, {"type": "dense", "name": "out.kernel", "units": 10, "activation": "softmax"}`)
	// Rows that train read the real MNIST; they skip without it.
	data, err := filepath.Abs(filepath.Join("..", dataset.DefaultDir))
	if err != nil {
		t.Fatal(err)
	}
	noData := []string{"--data", "/nonexistent", "--out", filepath.Join(dir, "r")} // the model must fail first
	cases := []struct {
		args   []string
		status int
		want   string // in the one line on stderr
	}{
		{[]string{"train", "--model", writeTinyModel(t), "--init", smallWeights, "--data", bad.mnistShaped, "--out", filepath.Join(dir, "r2")}, 1, "conv2d_1.kernel has shape [5 5 1 32], the model needs [3 3 1 4]"},
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
		// Data sets that are not as they should be, and models that do
		// not match them.
		{[]string{"train", "--model", bad.wrongOutput, "--data", bad.countMismatch}, 1,
			bad.countMismatch + "/train-labels-idx1-ubyte: 4 labels for the 5 images of train-images-idx3-ubyte"},
		{[]string{"train", "--model", bad.wrongOutput, "--data", bad.sizeMismatch}, 1,
			bad.sizeMismatch + "/t10k-images-idx3-ubyte: images are 19x12x1, the training images (train-images-idx3-ubyte) 20x12x1"},
		{[]string{"eval", "--run", bad.wrongOutputRun, "--data", bad.beyondClasses}, 1,
			bad.beyondClasses + "/test_batch.bin: label 4 of sample 2 is beyond the 4 classes of batches.meta.txt"},
		{[]string{"eval", "--run", bad.wrongOutputRun, "--data", bad.truncated}, 1,
			bad.truncated + "/test_batch.bin: truncated: record 2 has 100 of its 3073 bytes (a label byte and a 32x32x3 image)"},
		{[]string{"train", "--model", bad.wrongOutput, "--data", bad.unrecognised}, 1,
			"no dataset in " + bad.unrecognised + ": want train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte"},
		{[]string{"train", "--model", bad.wrongInput, "--data", bad.idx}, 1,
			bad.wrongInput + ": input_shape [28, 28, 1] does not match the 20x12x1 images of " + bad.idx + " (input_shape [20, 12, 1])"},
		{[]string{"train", "--model", bad.wrongOutput, "--data", bad.idx}, 1,
			bad.wrongOutput + ": the last layer has 7 units, " + bad.idx + " holds 5 classes"},
		{[]string{"eval", "--run", bad.wrongOutputRun, "--data", bad.idx}, 1,
			bad.wrongOutput + ": the last layer has 7 units, " + bad.idx + " holds 5 classes"},
		{[]string{"train", "--model", "small", "--data", bad.cifar}, 1,
			"the small preset is MNIST-shaped (28x28x1 images, 10 classes), " + bad.cifar + " holds 32x32x3 images of 4 classes: " +
				"train a model.json with input_shape [32, 32, 3] and a last dense layer of 4 units (see docs/models.md)"},
		{[]string{"predict", "--run", bad.twoChannelRun, notImage}, 1, "predict reads images as grayscale (1 channel) or RGB (3), the model in " + bad.twoChannelRun + " takes 2 channels"},
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
		{[]string{"train", "--model", "small", "--data", bad.mnistShaped, "--out", "/proc/vkcnn-run"}, 1, "create run folder"},
		{[]string{"train", "--model", "small", "--data", "/nonexistent", "--out", filepath.Join(dir, "r")}, 1, "run ./build.sh data"},
		{[]string{"eval", "--run", dir}, 1, "not a run folder"},
		{[]string{"eval"}, 1, "Required flag \"run\""},
		{[]string{"export", "--run", dir, "--onnx", filepath.Join(dir, "x.onnx")}, 1, "not a run folder"},
		{[]string{"export", "--run", torn, "--onnx", filepath.Join(dir, "x.onnx")}, 1, "weights.safetensors"},
		{[]string{"export", "--run", smallRun, "--onnx", "/proc/vkcnn.onnx"}, 1, "write /proc/vkcnn.onnx"},
		{[]string{"export", "--run", smallRun}, 1, "Required flag \"onnx\""},
		{[]string{"predict", "--run", dir}, 1, "no images given"},
		{[]string{"predict", "--run", smallRun, notImage}, 1, notImage + ": cannot be decoded as PNG, JPEG, GIF, BMP or WebP"},
		{[]string{"predict", "--run", smallRun, filepath.Join(dir, "gone.png")}, 1, filepath.Join(dir, "gone.png") + ": no such file"},
		{[]string{"predict", "--run", smallRun, dir}, 1, dir + ": a folder, not an image file (give the images in it, as " + filepath.Join(dir, "*.png") + ")"},
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

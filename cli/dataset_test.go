package cli

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/nn"
)

// generated is a data set a test made: its folder, and its test images
// as they are meant to be seen (upright, HWC) with their labels.
type generated struct {
	dir        string
	geometry   augment.Geometry
	test       []byte
	testLabels []uint8
}

// writeEMNIST writes an IDX data set named and stored as EMNIST's are:
// each image transposed, and labelled from 1, as EMNIST's letters, so
// class 0 has no sample. g is the upright images' size.
func writeEMNIST(t *testing.T, rng *rand.Rand, g augment.Geometry, classes, train, test int) generated {
	t.Helper()
	dir := t.TempDir()
	stored := augment.Geometry{Width: g.Height, Height: g.Width, Channels: 1}
	files := map[string][]byte{}
	var out generated
	for _, split := range []struct {
		name string
		n    int
	}{{"train", train}, {"test", test}} {
		images, labels := datatest.Learnable(rng, g, classes-1, split.n)
		for i := range labels {
			labels[i]++
		}
		transposed := make([]byte, len(images))
		for i, v := range images {
			img, y, x := i/g.Values(), i%g.Values()/g.Width, i%g.Width
			transposed[img*g.Values()+x*g.Height+y] = v
		}
		files["emnist-letters-"+split.name+"-images-idx3-ubyte.gz"] = datatest.Gzip(datatest.IDXImages(stored, split.n, transposed))
		files["emnist-letters-"+split.name+"-labels-idx1-ubyte.gz"] = datatest.Gzip(datatest.IDXLabels(labels))
		out.test, out.testLabels = images, labels
	}
	datatest.Write(t, dir, files)
	out.dir, out.geometry = dir, g
	return out
}

// writeCIFAR writes CIFAR-10's files, with as many classes as names: two
// training batches, the test batch and the class list.
func writeCIFAR(t *testing.T, rng *rand.Rand, names []string, train, test int) generated {
	t.Helper()
	dir := t.TempDir()
	g := dataset.CIFAR10
	images, labels := datatest.Learnable(rng, g, len(names), train)
	half := train / 2
	testImages, testLabels := datatest.Learnable(rng, g, len(names), test)
	datatest.Write(t, dir, map[string][]byte{
		"data_batch_1.bin": datatest.CIFAR(g, images[:half*g.Values()], labels[:half]),
		"data_batch_2.bin": datatest.CIFAR(g, images[half*g.Values():], labels[half:]),
		"test_batch.bin":   datatest.CIFAR(g, testImages, testLabels),
		"batches.meta.txt": []byte(strings.Join(names, "\n") + "\n\n"),
	})
	return generated{dir: dir, geometry: g, test: testImages, testLabels: testLabels}
}

// smallModel is a model.json for images of g in classes classes.
func smallModel(t *testing.T, g augment.Geometry, classes int) string {
	return writeModel(t, fmt.Sprintf(`{"format": "vkcnn-sequential-1", "name": "odd", "input_shape": %s, "layers": [
  {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"},
  {"type": "maxpool2d"},
  {"type": "flatten"},
  {"type": "dense", "units": %d, "activation": "softmax"}]}`, inputShape(g), classes))
}

// TestTrainOnOtherDatasets trains on generated data sets unlike MNIST, in
// each format: EMNIST-style IDX of 20x12 images (stored transposed) and
// CIFAR-10's binary batches of colour images, both with classes MNIST
// does not have, and uses each run as a user would.
func TestTrainOnOtherDatasets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	letters := writeEMNIST(t, rng, augment.Geometry{Width: 12, Height: 20, Channels: 1}, 6, 640, 200)
	cifar := writeCIFAR(t, rng, []string{"airplane", "automobile", "bird", "cat"}, 640, 200)
	runs := map[string]string{} // outlive their subtests
	base := t.TempDir()
	for _, c := range []struct {
		name    string
		data    generated
		classes int
		desc    string
	}{
		{"emnist", letters, 6, "EMNIST IDX (stored transposed, turned upright on reading), 640 training and 200 test images of 20x12x1, 6 classes (no training sample of class 0)"},
		{"cifar", cifar, 4, "CIFAR-10 binary, 640 training and 200 test images of 32x32x3, 4 classes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(base, c.name)
			runs[c.name] = run
			out := mustRun(t, "train", "--model", smallModel(t, c.data.geometry, c.classes), "--epochs", "1", "--steps-per-epoch", "40",
				"--batch-size", "16", "--lr", "1e-2", "--shift-px", "1", "--data", c.data.dir, "--out", run)
			if want := "\nData: " + c.data.dir + ": " + c.desc + "\n"; !strings.Contains(out, want) {
				t.Errorf("no line %q:\n%s", strings.TrimSpace(want), out)
			}
			m := regexp.MustCompile(`(?m)^Epoch 1/1 - .* - val_acc: ([\d.]+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no epoch line:\n%s", out)
			}
			t.Logf("validation accuracy %s", m[1])
			if acc, _ := strconv.ParseFloat(m[1], 64); acc < 0.8 {
				t.Errorf("validation accuracy %s, want at least 0.8", m[1])
			}
			checkRunRecord(t, run, c.data, c.classes)
			checkAugment(t, c.data)

			logits := filepath.Join(t.TempDir(), "logits.npy")
			evalOut := mustRun(t, "eval", "--run", run, "--data", c.data.dir, "--logits", logits)
			if !strings.Contains(evalOut, "Test accuracy: "+m[1]+"\n") {
				t.Errorf("eval disagrees with val_acc %s:\n%s", m[1], evalOut)
			}
			z := readNpy(t, logits)
			if len(z) != 200*c.classes {
				t.Fatalf("%d logits, want 200 x %d", len(z), c.classes)
			}
			if c.name == "cifar" && !strings.Contains(evalOut, "\n3 cat ") {
				t.Errorf("the confusion matrix does not name the classes:\n%s", evalOut)
			}
			checkPredict(t, run, c.data, z, c.classes)

			t.Run("onnx", func(t *testing.T) {
				cmp := compareExport(t, onnxRuntime(t), run, c.data.dir)
				t.Logf("200 images: probabilities at most %.3g apart, logits %.3g; %d classes differ", cmp.probabilities, cmp.logits, cmp.classes)
				if cmp.probabilities > onnxTolerance || cmp.classes != 0 {
					t.Errorf("ONNX Runtime's probabilities are up to %.3g from vkcnn's, and %d of 200 classes differ", cmp.probabilities, cmp.classes)
				}
			})
		})
	}
	// A run goes on only with a data set of its kind.
	if runs["emnist"] == "" {
		return
	}
	_, stderr, status := runVkcnn(t, nil, "train", "--resume", runs["emnist"], "--epochs", "2", "--data", cifar.dir)
	want := fmt.Sprintf("--resume %s: the run trained on 640 training images of 20x12x1 in 6 classes (%s); %s holds 640 training images of 32x32x3 in 4 classes",
		runs["emnist"], letters.dir, cifar.dir)
	if status != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, want) {
		t.Errorf("resuming on another data set: status %d, stderr %q; want status 1 and one line with %q", status, stderr, want)
	}
}

// checkRunRecord checks that run.json records the data set.
func checkRunRecord(t *testing.T, run string, data generated, classes int) {
	t.Helper()
	js, err := os.ReadFile(filepath.Join(run, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(js, &rec); err != nil {
		t.Fatal(err)
	}
	g := data.geometry
	for key, want := range map[string]any{"dir": data.dir, "height": g.Height, "width": g.Width, "channels": g.Channels,
		"classes": classes, "train_samples": 640, "test_samples": 200} {
		if got := rec.Data[key]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("run.json: data.%s is %v, want %v", key, got, want)
		}
	}
}

// checkPredict runs predict on the first test images, written as a user's
// PNGs (a grey one also dark on light), and expects eval's classes and
// probabilities from its logits z.
func checkPredict(t *testing.T, run string, data generated, z []float32, classes int) {
	t.Helper()
	g, dir := data.geometry, t.TempDir()
	var paths []string
	var want []int // the test image each path shows
	for i := range 2 {
		path := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		writePNG(t, path, data.test[i*g.Values():(i+1)*g.Values()], g, 1, false)
		paths, want = append(paths, path), append(want, i)
	}
	if g.Channels == 1 {
		path := filepath.Join(dir, "dark.png")
		writePNG(t, path, data.test[:g.Values()], g, 1, true)
		paths, want = append(paths, path), append(want, 0)
	}
	out := mustRun(t, append([]string{"predict", "--run", run}, paths...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("predict:\n%s", out)
	}
	re := regexp.MustCompile(`^(.*): (\d+)( [a-z]+)? \(probability ([\d.]+)\)( \(inverted: dark on a light ground\))?$`)
	for i, line := range lines {
		m := re.FindStringSubmatch(line)
		if m == nil || m[1] != paths[i] {
			t.Fatalf("predict line %q", line)
		}
		logits := z[want[i]*classes : (want[i]+1)*classes]
		class, prob := argmax(logits), softmax(logits)[argmax(logits)]
		got, _ := strconv.Atoi(m[2])
		p, _ := strconv.ParseFloat(m[4], 64)
		if got != class || p < prob-1e-4 || p > prob+1e-4 {
			t.Errorf("%s: class %d, probability %s; eval's logits say %d, %.4f", paths[i], got, m[4], class, prob)
		}
		if (m[5] != "") != strings.HasSuffix(paths[i], "dark.png") {
			t.Errorf("%s: inverted %q", paths[i], m[5])
		}
		if (m[3] != "") != (g.Channels == 3) {
			t.Errorf("%s: class name %q", paths[i], m[3])
		}
	}
}

// badData are data folders, models and runs for the bad-input rows of
// TestBadTrainingInput, each wrong in one way.
type badData struct {
	// An IDX data set of 20x12x1 images in 5 classes, one of MNIST's
	// shape, and a CIFAR one of 4 classes, all good.
	idx, mnistShaped, cifar string
	// IDX sets with 4 labels for 5 images, and with test images of
	// another size; CIFAR sets with a label beyond its class list, and
	// with a truncated record; a folder of other files.
	countMismatch, sizeMismatch, beyondClasses, truncated, unrecognised string
	// Models that do not match idx: their input, and their output; a
	// run of the second; a run of a model of two channels.
	wrongInput, wrongOutput, wrongOutputRun, twoChannelRun string
}

func writeBadData(t *testing.T, dir string) badData {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	g := augment.Geometry{Width: 12, Height: 20, Channels: 1}
	images, labels := datatest.Learnable(rng, g, 5, 5)
	labels[0] = 4 // every class has a sample
	idxFiles := func(trainLabels []uint8, test augment.Geometry) map[string][]byte {
		return map[string][]byte{
			"train-images-idx3-ubyte": datatest.IDXImages(g, 5, images), "train-labels-idx1-ubyte": datatest.IDXLabels(trainLabels),
			"t10k-images-idx3-ubyte": datatest.IDXImages(test, 1, make([]byte, test.Values())), "t10k-labels-idx1-ubyte": datatest.IDXLabels(labels[:1]),
		}
	}
	c := dataset.CIFAR10
	cifarFiles := func(test []byte) map[string][]byte {
		return map[string][]byte{"data_batch_1.bin": datatest.CIFAR(c, make([]byte, 2*c.Values()), []uint8{0, 3}), "test_batch.bin": test,
			"batches.meta.txt": []byte("airplane\nautomobile\nbird\ncat\n")}
	}
	folder := func(name string, files map[string][]byte) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		datatest.Write(t, path, files)
		return path
	}
	run := func(name, js string) string {
		path := folder(name, map[string][]byte{"model.json": []byte(js)})
		spec, err := nn.ParseSpec([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := nn.Build(spec)
		if err := m.SaveWeights(filepath.Join(path, "weights.safetensors"), m.Init(1)); err != nil {
			t.Fatal(err)
		}
		return path
	}
	model := func(input string, classes int) string {
		return fmt.Sprintf(`{"format": "vkcnn-sequential-1", "input_shape": %s, "layers": [{"type": "flatten"}, {"type": "dense", "units": %d, "activation": "softmax"}]}`, input, classes)
	}
	digits := augment.Geometry{Width: 28, Height: 28, Channels: 1}
	mnistImages, mnistLabels := datatest.Learnable(rng, digits, 10, 20)
	mnistLabels[0] = 9 // the tenth class has a sample
	b := badData{
		idx: folder("idx", idxFiles(labels, g)),
		mnistShaped: folder("mnist", map[string][]byte{
			"train-images-idx3-ubyte": datatest.IDXImages(digits, 20, mnistImages), "train-labels-idx1-ubyte": datatest.IDXLabels(mnistLabels),
			"t10k-images-idx3-ubyte": datatest.IDXImages(digits, 20, mnistImages), "t10k-labels-idx1-ubyte": datatest.IDXLabels(mnistLabels)}),
		cifar:          folder("cifar", cifarFiles(datatest.CIFAR(c, make([]byte, c.Values()), []uint8{1}))),
		countMismatch:  folder("count", idxFiles(labels[:4], g)),
		sizeMismatch:   folder("size", idxFiles(labels, augment.Geometry{Width: 12, Height: 19, Channels: 1})),
		beyondClasses:  folder("beyond", cifarFiles(datatest.CIFAR(c, make([]byte, 2*c.Values()), []uint8{1, 4}))),
		truncated:      folder("truncated", cifarFiles(make([]byte, 3073+100))),
		unrecognised:   folder("other", map[string][]byte{"images.csv": nil, "data_batch.zip": nil}),
		wrongOutputRun: run("sevenrun", model("[20, 12, 1]", 7)),
		twoChannelRun:  run("tworun", model("[8, 8, 2]", 3)),
	}
	b.wrongInput = writeModel(t, model("[28, 28, 1]", 5))
	b.wrongOutput = filepath.Join(b.wrongOutputRun, "model.json")
	return b
}

// checkAugment draws augmented training images of the data set, as a grid
// and as an archive whose images are the reference warp of the indexed
// training images, in the archive's shape: (N, H, W), or (N, H, W, C) for
// colour.
func checkAugment(t *testing.T, data generated) {
	t.Helper()
	dir, g := t.TempDir(), data.geometry
	archive, grid := filepath.Join(dir, "samples.npz"), filepath.Join(dir, "samples.png")
	mustRun(t, "augment", "--shift", "0.2", "--n", "5", "--npz", archive, "--out", grid, "--data", data.dir)
	shape := []int{5, g.Height, g.Width}
	if g.Channels > 1 {
		shape = append(shape, g.Channels)
	}
	r, err := npz.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header("images.npy"); h == nil || fmt.Sprint(h.Descr.Shape) != fmt.Sprint(shape) {
		t.Fatalf("images.npy: header %v, want shape %v", h, shape)
	}
	var index []int64
	var affine, images []float32
	for name, ptr := range map[string]any{"index.npy": &index, "affine.npy": &affine, "images.npy": &images} {
		if err := r.Read(name, ptr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	d, err := dataset.Load(data.dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, idx := range index {
		var a augment.Affine
		copy(a[:], affine[6*i:])
		want := augment.Warp(d.Train.Images[int(idx)*g.Values():(int(idx)+1)*g.Values()], g, a, augment.Sampling{})
		if got := images[i*g.Values() : (i+1)*g.Values()]; !slices.Equal(got, want) {
			t.Fatalf("sample %d (index %d, affine %v) differs from the reference warp", i, idx, a)
		}
	}
}

// inputShape writes a geometry as model.json's input_shape.
func inputShape(g augment.Geometry) string {
	return fmt.Sprintf("[%d, %d, %d]", g.Height, g.Width, g.Channels)
}

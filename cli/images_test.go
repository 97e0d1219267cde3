package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/datatest"
	"github.com/vkcnn/vkcnn/onnx"
	"github.com/vkcnn/vkcnn/onnx/onnxpb"
	"github.com/vkcnn/vkcnn/runfolder"
)

// shapeNames are the classes of the generated image folders, given out
// of sorted order so that the folders' order is seen to be the sorted one.
var shapeNames = []string{"stripe", "band", "line"}

// writeImageFolder writes n learnable images of g into dir/CLASS/: a
// quarter as PNG, a quarter as gray PNG, a quarter as JPEG, and a quarter
// as PNG at twice the size (each pixel doubled, which the half-pixel
// bilinear resize takes back exactly).
func writeImageFolder(t *testing.T, rng *rand.Rand, dir string, g augment.Geometry, n int) {
	t.Helper()
	images, labels := datatest.Learnable(rng, g, len(shapeNames), n)
	big := augment.Geometry{Height: 2 * g.Height, Width: 2 * g.Width, Channels: g.Channels}
	gray := augment.Geometry{Height: g.Height, Width: g.Width, Channels: 1}
	for i, l := range labels {
		img := images[i*g.Values() : (i+1)*g.Values()]
		folder := filepath.Join(dir, shapeNames[l])
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		ext := "png"
		if i%4 == 2 {
			ext = "jpg"
		}
		f, err := os.Create(filepath.Join(folder, fmt.Sprintf("%04d.%s", i, ext)))
		if err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0:
			err = datatest.EncodeImage(f, "png", g, img)
		case 1:
			luma := make([]byte, gray.Values())
			for p := range luma {
				luma[p] = max(img[3*p], img[3*p+1], img[3*p+2])
			}
			err = datatest.EncodeImage(f, "png", gray, luma)
		case 2:
			err = datatest.EncodeImage(f, "jpg", g, img)
		case 3:
			doubled := make([]byte, 0, big.Values())
			for y := range big.Height {
				for x := range big.Width {
					p := ((y/2)*g.Width + x/2) * 3
					doubled = append(doubled, img[p:p+3]...)
				}
			}
			err = datatest.EncodeImage(f, "png", big, doubled)
		}
		if err := errors.Join(err, f.Close()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTrainOnImageFolder trains on a folder of PNG and JPEG images, gray
// and RGB, of two sizes (--image-size), and uses the run as a user would:
// the classes, in sorted order, name the confusion matrix and the ONNX
// metadata; a single tree holds out its shuffled last part, which eval
// tests.
func TestTrainOnImageFolder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := augment.Geometry{Height: 12, Width: 16, Channels: 3}
	split, tree := t.TempDir(), t.TempDir()
	writeImageFolder(t, rng, filepath.Join(split, "train"), g, 480)
	writeImageFolder(t, rng, filepath.Join(split, "val"), g, 120)
	writeImageFolder(t, rng, tree, g, 600)
	sorted := slices.Sorted(slices.Values(shapeNames))
	model := smallModel(t, g, 3)
	for _, c := range []struct {
		name, data string
		args       []string
		desc       string
	}{
		{"split", split, nil, "image folders (train/ and val/), 480 training and 120 test images of 12x16x3, 3 classes"},
		{"tree", tree, []string{"--val-split", "0.2", "--seed", "3"}, "image folder (one tree; the test set is its last 120 images, shuffled with seed 3), 600 training and 120 test images of 12x16x3, 3 classes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			out := mustRun(t, append([]string{"train", "--model", model, "--epochs", "1", "--steps-per-epoch", "40", "--batch-size", "16",
				"--lr", "1e-2", "--image-size", "12x16", "--color", "rgb", "--data", c.data, "--out", run}, c.args...)...)
			if want := "\nData: " + c.data + ": " + c.desc + "\n"; !strings.Contains(out, want) {
				t.Errorf("no line %q:\n%s", strings.TrimSpace(want), out)
			}
			m := regexp.MustCompile(`(?m)^Epoch 1/1 - .* - val_acc: ([\d.]+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no epoch line:\n%s", out)
			}
			t.Logf("validation accuracy %s", m[1])
			rec, err := runfolder.ReadRecord(run)
			if err != nil {
				t.Fatal(err)
			}
			if d := rec.Data; d.ImageSize != "12x16" || d.Color != "rgb" || !slices.Equal(d.Names, sorted) {
				t.Errorf("run.json: image_size %q, color %q, classes %v; want 12x16, rgb, %v", d.ImageSize, d.Color, d.Names, sorted)
			}
			// eval reads the folder as the run did; for a tree, its
			// held-out part, which validation saw too.
			logits := filepath.Join(t.TempDir(), "logits.npy")
			evalOut := mustRun(t, "eval", "--run", run, "--data", c.data, "--logits", logits)
			if !strings.Contains(evalOut, "Test accuracy: "+m[1]+"\n") || !strings.Contains(evalOut, "\n2 stripe ") {
				t.Errorf("eval disagrees with val_acc %s, or does not name the classes:\n%s", m[1], evalOut)
			}
			if c.name == "split" {
				checkFolderPredict(t, run, filepath.Join(c.data, "val"), readNpy(t, logits), sorted)
			} else {
				// --resume reads the folder as the run did: its size,
				// colour, seed and split.
				resumed := mustRun(t, "train", "--resume", run, "--epochs", "2", "--data", c.data)
				if !strings.Contains(resumed, "\nData: "+c.data+": "+c.desc+"\n") || !strings.Contains(resumed, "Epoch 2/2") {
					t.Errorf("the resumed run:\n%s", resumed)
				}
			}
			file := filepath.Join(t.TempDir(), "model.onnx")
			mustRun(t, "export", "--run", run, "--onnx", file)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var mp onnxpb.ModelProto
			if err := proto.Unmarshal(b, &mp); err != nil {
				t.Fatal(err)
			}
			names, _ := json.Marshal(sorted)
			if i := slices.IndexFunc(mp.MetadataProps, func(e *onnxpb.StringStringEntryProto) bool { return e.Key == onnx.ClassNamesKey }); i < 0 || mp.MetadataProps[i].Value != string(names) {
				t.Errorf("the ONNX metadata does not list the classes %s", names)
			}
		})
	}
}

// checkFolderPredict runs predict on the first image of each kind
// (PNG, gray PNG, JPEG, PNG of twice the size) in the test folder of a
// run trained on image folders: it reads them as the folder was read
// (resized, converted, not inverted), so its classes and probabilities
// are eval's, from its logits z of the folder's images in class order.
func checkFolderPredict(t *testing.T, run, folder string, z []float32, classes []string) {
	t.Helper()
	var files []string
	for _, class := range classes {
		names, err := filepath.Glob(filepath.Join(folder, class, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, names...) // Glob sorts them, as the folder is read
	}
	var paths []string
	var index []int
	for kind := range 4 {
		i := slices.IndexFunc(files, func(f string) bool {
			var n int
			fmt.Sscanf(filepath.Base(f), "%04d", &n)
			return n%4 == kind
		})
		paths, index = append(paths, files[i]), append(index, i)
	}
	out := mustRun(t, append([]string{"predict", "--run", run}, paths...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("predict:\n%s", out)
	}
	k := len(classes)
	for i, line := range lines {
		logits := z[index[i]*k : (index[i]+1)*k]
		class := argmax(logits)
		want := fmt.Sprintf("%s: %d %s (probability %.4f)", paths[i], class, classes[class], softmax(logits)[class])
		if line != want {
			t.Errorf("predict says %q,\neval's logits %q", line, want)
		}
	}
}

// TestImageFolderRefusedBeforeTraining refuses a folder with files that
// cannot be decoded in one line naming the first, and makes no run.
func TestImageFolderRefusedBeforeTraining(t *testing.T) {
	dir := t.TempDir()
	writeImageFolder(t, rand.New(rand.NewPCG(1, 2)), filepath.Join(dir, "train"), augment.Geometry{Height: 4, Width: 4, Channels: 3}, 12)
	writeImageFolder(t, rand.New(rand.NewPCG(3, 4)), filepath.Join(dir, "test"), augment.Geometry{Height: 4, Width: 4, Channels: 3}, 6)
	datatest.Write(t, filepath.Join(dir, "train", "band"), map[string][]byte{"broken.png": []byte("\x89PNG"), "zz.gif": []byte("GIF89a")})
	run := filepath.Join(t.TempDir(), "run")
	_, stderr, status := runVkcnn(t, nil, "train", "--model", smallModel(t, augment.Geometry{Height: 4, Width: 4, Channels: 3}, 3),
		"--image-size", "4x4", "--data", dir, "--out", run)
	want := filepath.Join(dir, "train", "band", "broken.png") + ": cannot be decoded as PNG, JPEG, GIF, BMP or WebP"
	if status != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "(and 1 more bad files or folders)") {
		t.Errorf("status %d, stderr %q; want status 1 and one line with %q and one more", status, stderr, want)
	}
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Errorf("the refused run left %s", run)
	}
}

// TestKerasNPZTrainsAsIDX writes Keras' mnist.npz from the IDX files and
// trains on each for a few steps with one seed: the same weights to the
// bit show the arrays were read exactly, in the same order.
func TestKerasNPZTrainsAsIDX(t *testing.T) {
	data := dataDir(t)
	d, err := dataset.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	g := d.Geometry
	npzFile := filepath.Join(t.TempDir(), "mnist.npz")
	if err := os.WriteFile(npzFile, datatest.NPZ(map[string][]byte{
		"x_train": datatest.NPY("|u1", []int{d.Train.N, g.Height, g.Width}, d.Train.Images), "y_train": datatest.NPY("|u1", []int{d.Train.N}, d.Train.Labels),
		"x_test": datatest.NPY("|u1", []int{d.Test.N, g.Height, g.Width}, d.Test.Images), "y_test": datatest.NPY("|u1", []int{d.Test.N}, d.Test.Labels),
	}), 0o644); err != nil {
		t.Fatal(err)
	}
	model := writeTinyModel(t)
	weights := map[string][]byte{}
	for _, source := range []string{data, npzFile} {
		run := filepath.Join(t.TempDir(), "run")
		out := mustRun(t, "train", "--model", model, "--epochs", "1", "--steps-per-epoch", "6", "--val-split", "0.005",
			"--seed", "5", "--shift", "0.1", "--data", source, "--out", run)
		if source == npzFile && !strings.Contains(out, "Data: "+npzFile+": NumPy .npz, 60,000 training and 10,000 test images of 28x28x1, 10 classes") {
			t.Errorf("no Data line for the archive:\n%s", out)
		}
		if weights[source], err = os.ReadFile(filepath.Join(run, "weights.safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(weights[data], weights[npzFile]) {
		t.Error("the run on mnist.npz ends with other weights than the run on the IDX files")
	}
}

// TestNormalizeCarriedIntoPredictAndONNX trains with --normalize on
// colour images: run.json records the training set's per-channel mean and
// deviation, eval and predict feed the test images through them, and the
// exported graph, given pixels in [0, 1], gives predict's probabilities.
func TestNormalizeCarriedIntoPredictAndONNX(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	data := writeCIFAR(t, rng, []string{"airplane", "automobile", "bird", "cat"}, 640, 200)
	run := filepath.Join(t.TempDir(), "run")
	out := mustRun(t, "train", "--model", smallModel(t, data.geometry, 4), "--epochs", "1", "--steps-per-epoch", "40",
		"--batch-size", "16", "--lr", "1e-2", "--normalize", "--val-split", "0.25", "--data", data.dir, "--out", run)
	d, err := dataset.Load(data.dir)
	if err != nil {
		t.Fatal(err)
	}
	// The statistics of the 480 training samples, the last 160 held out.
	var sum, sq [3]float64
	for i, b := range d.Train.Images[:480*data.geometry.Values()] {
		v := float64(b) / 255
		sum[i%3] += v
		sq[i%3] += v * v
	}
	rec, err := runfolder.ReadRecord(run)
	if err != nil {
		t.Fatal(err)
	}
	n := float64(480 * 32 * 32)
	for c := range 3 {
		mean, std := sum[c]/n, math.Sqrt(sq[c]/n-(sum[c]/n)*(sum[c]/n))
		if rec.Normalize == nil || math.Abs(float64(rec.Normalize.Mean[c])-mean) > 1e-6 || math.Abs(float64(rec.Normalize.Std[c])-std) > 1e-6 {
			t.Fatalf("run.json normalize %+v, want channel %d's mean %g and deviation %g", rec.Normalize, c, mean, std)
		}
	}
	if !strings.Contains(out, "\nNormalized: (x - [") {
		t.Errorf("train does not say it normalizes:\n%s", out)
	}
	// eval's logits, predict and ONNX Runtime agree.
	logits := filepath.Join(t.TempDir(), "logits.npy")
	mustRun(t, "eval", "--run", run, "--data", data.dir, "--logits", logits)
	z := readNpy(t, logits)
	checkPredict(t, run, data, z, 4)
	cmp := compareExport(t, onnxRuntime(t), run, data.dir)
	if cmp.probabilities > onnxTolerance || cmp.classes != 0 {
		t.Errorf("ONNX Runtime's probabilities are up to %.3g from vkcnn's, and %d of 200 classes differ", cmp.probabilities, cmp.classes)
	}
	// The same run without its normalization gives other logits, so the
	// agreement above is the normalization's.
	rec.Normalize = nil
	if err := runfolder.WriteRecord(run, rec); err != nil {
		t.Fatal(err)
	}
	plainLogits := filepath.Join(t.TempDir(), "plain.npy")
	mustRun(t, "eval", "--run", run, "--data", data.dir, "--logits", plainLogits)
	if d := maxDiff(readNpy(t, plainLogits), z); d < 1e-3 {
		t.Errorf("without its normalization the run's logits move by %g only", d)
	}
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestResumeWithFlipAndNormalize: a run with --flip and --normalize
// stopped after an epoch and resumed ends with the weights of the run
// that went straight on: the checkpoint keeps the flips, run.json the
// normalization.
func TestResumeWithFlipAndNormalize(t *testing.T) {
	data := dataDir(t)
	args := []string{"train", "--model", writeTinyModel(t), "--steps-per-epoch", "4", "--val-split", "0.005", "--shift-px", "2",
		"--flip", "both", "--normalize", "--seed", "4", "--data", data}
	straight, resumed := filepath.Join(t.TempDir(), "straight"), filepath.Join(t.TempDir(), "resumed")
	mustRun(t, append(args, "--epochs", "2", "--out", straight)...)
	mustRun(t, append(args, "--epochs", "1", "--out", resumed)...)
	mustRun(t, "train", "--resume", resumed, "--epochs", "2", "--data", data)
	a, errA := os.ReadFile(filepath.Join(straight, "weights.safetensors"))
	b, errB := os.ReadFile(filepath.Join(resumed, "weights.safetensors"))
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the resumed run ends with other weights than the straight one")
	}
}

// TestStreamedRunIsResidentRun trains with --stream and without, from one
// seed: the weights are the same to the bit, also where the streamed run
// stops after an epoch and resumes, and the run says it streams.
// eval --stream tests the run as eval does resident, to the digit.
func TestStreamedRunIsResidentRun(t *testing.T) {
	data := writeCIFAR(t, rand.New(rand.NewPCG(17, 18)), []string{"a", "b", "c"}, 300, 40)
	args := []string{"train", "--model", smallModel(t, data.geometry, 3), "--epochs", "2", "--steps-per-epoch", "12", "--batch-size", "16",
		"--shift-px", "2", "--flip", "horizontal", "--normalize", "--data", data.dir}
	var weights [2][]byte
	var run string
	for i, extra := range [][]string{nil, {"--stream"}} {
		run = filepath.Join(t.TempDir(), "run")
		out := mustRun(t, slices.Concat(args, []string{"--out", run}, extra)...)
		if streams := strings.Contains(out, "\nStreamed: the images stay on the host, each step's batch copied to the device (the training and test sets)\n"); streams != (extra != nil) {
			t.Errorf("streamed %v, says:\n%s", extra != nil, out)
		}
		var err error
		if weights[i], err = os.ReadFile(filepath.Join(run, "weights.safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(weights[0], weights[1]) {
		t.Error("the streamed run ends with other weights than the resident one")
	}
	// A streamed run stopped after its first epoch and resumed, streamed.
	resumed := filepath.Join(t.TempDir(), "resumed")
	one := slices.Clone(args)
	one[slices.Index(one, "--epochs")+1] = "1"
	mustRun(t, append(one, "--out", resumed, "--stream")...)
	mustRun(t, "train", "--resume", resumed, "--epochs", "2", "--data", data.dir, "--stream")
	if w, err := os.ReadFile(filepath.Join(resumed, "weights.safetensors")); err != nil || !bytes.Equal(w, weights[0]) {
		t.Errorf("the streamed run resumed ends with other weights than the resident one (%v)", err)
	}
	eval := []string{"eval", "--run", run, "--data", data.dir, "--batch-size", "7"}
	resident, streamed := mustRun(t, eval...), mustRun(t, append(eval, "--stream")...)
	says := "Streamed: the images stay on the host, each step's batch copied to the device (the test set)\n"
	if strings.Contains(resident, says) || !strings.Contains(streamed, says) {
		t.Errorf("eval resident says:\n%s\nstreamed says:\n%s", resident, streamed)
	}
	if strings.Replace(streamed, says, "", 1) != resident || !strings.Contains(resident, "Test accuracy") {
		t.Errorf("eval --stream says:\n%s\nresident:\n%s", streamed, resident)
	}
}

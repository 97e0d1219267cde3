package vkcnn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/runfolder"
)

// writeBands writes a data set of 28x28 gray PNGs in class folders,
// train/K/ and test/K/: class K is a light band across the K-th tenth of
// the rows, on dark noise.
func writeBands(dir string, perClass int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, set := range []string{"train", "test"} {
		for k := range 10 {
			folder := filepath.Join(dir, set, fmt.Sprint(k))
			if err := os.MkdirAll(folder, 0o755); err != nil {
				return err
			}
			for i := range perClass {
				if err := writePNG(filepath.Join(folder, fmt.Sprintf("%d.png", i)), band(k, rng)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// band draws an image of class k.
func band(k int, rng *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := range 28 {
		for x := range 28 {
			v := byte(rng.IntN(80))
			if y*10/28 == k {
				v = byte(180 + rng.IntN(76))
			}
			img.Pix[y*img.Stride+x] = v
		}
	}
	return img
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(png.Encode(f, img), f.Close())
}

// ExampleTrain trains a few steps of the small preset on a generated
// folder of images, then classifies an image with the run.
func ExampleTrain() {
	dir, err := os.MkdirTemp("", "vkcnn-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := writeBands(filepath.Join(dir, "bands"), 4); err != nil {
		fmt.Println(err)
		return
	}

	opts := vkcnn.DefaultTrainOptions()
	opts.Model = "small"
	opts.Data = filepath.Join(dir, "bands")
	opts.Out = filepath.Join(dir, "run")
	opts.Epochs, opts.StepsPerEpoch, opts.BatchSize = 2, 3, new(8)
	opts.OnEpoch = func(st nn.EpochStats) (stop bool) {
		fmt.Printf("epoch %d: %d images, validated: %v\n", st.Epoch, st.Images, st.HasVal)
		return false
	}
	run, err := vkcnn.Train(context.Background(), opts)
	if err != nil {
		fmt.Println(err)
		return
	}

	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	preds, err := p.Predict(band(3, rand.New(rand.NewPCG(7, 8))))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d probabilities, of the classes %v\n", len(preds[0].Probabilities), run.ClassNames())
	// Output:
	// epoch 1: 24 images, validated: true
	// epoch 2: 24 images, validated: true
	// 10 probabilities, of the classes [0 1 2 3 4 5 6 7 8 9]
}

// TestStopAndResume: a run that OnProgress stops part way through an
// epoch, and one that OnEpoch stops at an epoch's end, each resumed, end
// with the weights of the run trained without a stop, bit for bit; a
// resume of a finished run has nothing to do.
func TestStopAndResume(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bands")
	if err := writeBands(data, 4); err != nil {
		t.Fatal(err)
	}
	opts := vkcnn.DefaultTrainOptions()
	opts.Model, opts.Data, opts.Epochs, opts.StepsPerEpoch, opts.BatchSize = "small", data, 2, 3, new(8)
	train := func(name string, session func(*vkcnn.TrainSession)) (string, error) {
		o := opts
		o.Out = filepath.Join(dir, name)
		session(&o.TrainSession)
		_, err := vkcnn.Train(context.Background(), o)
		return o.Out, err
	}
	whole, err := train("whole", func(*vkcnn.TrainSession) {})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(whole, runfolder.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	stops := map[string]func(*vkcnn.TrainSession){
		"at step 2": func(s *vkcnn.TrainSession) {
			s.OnProgress = func(p nn.Progress) bool { return p.Epoch == 1 && p.Step == 2 }
		},
		"after epoch 1": func(s *vkcnn.TrainSession) {
			s.OnEpoch = func(st nn.EpochStats) bool { return st.Epoch == 1 }
		},
	}
	for name, stop := range stops {
		o := opts
		o.Out = filepath.Join(dir, name)
		stop(&o.TrainSession)
		run, err := vkcnn.Train(context.Background(), o)
		out := o.Out
		if (run != nil) != (name == "after epoch 1") {
			t.Errorf("%s: the run returned: %v", name, run)
		}
		var stopped *vkcnn.StoppedError
		if !errors.Is(err, vkcnn.ErrStopped) || !errors.As(err, &stopped) || stopped.Dir != out {
			t.Fatalf("%s: %v, want a stop in %s", name, err, out)
		}
		var epochs []int
		resumed := vkcnn.ResumeOptions{Dir: out, TrainSession: vkcnn.TrainSession{Data: data,
			OnEpoch: func(st nn.EpochStats) bool { epochs = append(epochs, st.Epoch); return false }}}
		if _, err := vkcnn.Resume(context.Background(), resumed); err != nil {
			t.Fatalf("%s: resume: %v", name, err)
		}
		got, err := os.ReadFile(filepath.Join(out, runfolder.WeightsFile))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s, resumed (epochs %v): other weights than the run without a stop", name, epochs)
		}
		if _, err := vkcnn.Resume(context.Background(), resumed); !errors.Is(err, vkcnn.ErrFinished) || !strings.Contains(err.Error(), "nothing to do") {
			t.Errorf("%s: a resume of the finished run: %v", name, err)
		}
	}
}

// TestTrainErrorClasses: settings, a model or a data set that cannot be
// used are ErrBadInput, in the command's words, and leave no run folder.
func TestTrainErrorClasses(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bands")
	if err := writeBands(data, 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change func(*vkcnn.TrainOptions)
		want   string
	}{
		{func(o *vkcnn.TrainOptions) { o.Model = filepath.Join(dir, "none.json") }, "none.json"},
		{func(o *vkcnn.TrainOptions) { o.LR = new(0.0) }, "learning rate 0 must be a positive number"},
		{func(o *vkcnn.TrainOptions) { o.Optimizer.Momentum = new(0.9) }, "--momentum: the adam optimizer does not take it"},
		{func(o *vkcnn.TrainOptions) { o.Data = filepath.Join(dir, "empty") }, "empty"},
		{func(o *vkcnn.TrainOptions) { o.Model = "resnet20"; o.Mean = []float32{0.5} }, "--mean and --std are --normalize's"},
	} {
		opts := vkcnn.DefaultTrainOptions()
		opts.Data, opts.Out, opts.Epochs = data, filepath.Join(dir, "run"), 1
		c.change(&opts)
		_, err := vkcnn.Train(context.Background(), opts)
		if !errors.Is(err, vkcnn.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want ErrBadInput with %q", err, c.want)
		}
		if _, err := os.Stat(opts.Out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q: the run folder is left: %v", c.want, err)
		}
	}

	// Stopped before training begins: nothing trained, no folder left.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := vkcnn.DefaultTrainOptions()
	opts.Data, opts.Out, opts.Epochs = data, filepath.Join(dir, "run"), 1
	if _, err := vkcnn.Train(ctx, opts); !errors.Is(err, context.Canceled) || errors.Is(err, vkcnn.ErrStopped) {
		t.Errorf("a cancelled context: %v", err)
	}
	if _, err := os.Stat(opts.Out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cancelled: the run folder is left: %v", err)
	}
}

// TestEvaluate: the confusion matrix counts every test sample once, its
// diagonal is the accuracy, and the logits' argmax is the predicted
// class.
func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bands")
	if err := writeBands(data, 3); err != nil {
		t.Fatal(err)
	}
	opts := vkcnn.DefaultTrainOptions()
	opts.Model, opts.Data, opts.Out, opts.Epochs, opts.BatchSize = "small", data, filepath.Join(dir, "run"), 2, new(10)
	run, err := vkcnn.Train(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	e, err := dev.Evaluate(run, vkcnn.EvalOptions{Data: data, Batch: 7, Logits: true})
	if err != nil {
		t.Fatal(err)
	}
	total, right := 0, 0
	for i, row := range e.Confusion {
		for j, n := range row {
			total += n
			if i == j {
				right += n
			}
		}
	}
	if total != 30 || len(e.Logits) != 30 || float64(right)/30 != e.Acc {
		t.Fatalf("%d samples counted, %d logits, %d right, accuracy %g", total, len(e.Logits), right, e.Acc)
	}
	// The test files come class by class, 3 each.
	fromLogits := make([][]int, 10)
	for i := range fromLogits {
		fromLogits[i] = make([]int, 10)
	}
	for i, z := range e.Logits {
		fromLogits[i/3][slices.Index(z, slices.Max(z))]++
	}
	if !reflect.DeepEqual(fromLogits, e.Confusion) {
		t.Errorf("the logits' classes %v, the confusion matrix %v", fromLogits, e.Confusion)
	}
	if _, err := dev.Evaluate(run, vkcnn.EvalOptions{Data: filepath.Join(dir, "none")}); !errors.Is(err, vkcnn.ErrBadInput) {
		t.Errorf("a data folder that is not there: %v", err)
	}
}

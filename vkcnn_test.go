package vkcnn_test

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/runfolder/runfoldertest"
)

// exampleRun is the tiny run the examples and tests predict with, and
// exampleImage a picture of its class "bottom".
var exampleRun, exampleImage string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vkcnn-test")
	if err != nil {
		panic(err)
	}
	// The user's own tuning cache must not change what the tests run.
	os.Setenv("VKCNN_TUNING", filepath.Join(dir, "tuning.json"))
	// Decoded image folders are cached there, not in the user's cache.
	os.Setenv("VKCNN_CACHE", filepath.Join(dir, "images"))
	exampleRun = filepath.Join(dir, "run")
	exampleImage = filepath.Join(dir, "bottom.png")
	if err := os.Mkdir(exampleRun, 0o755); err != nil {
		panic(err)
	}
	if err := runfoldertest.Write(exampleRun); err != nil {
		panic("train the tiny run: " + err.Error())
	}
	f, err := os.Create(exampleImage)
	if err != nil {
		panic(err)
	}
	if err := errors.Join(png.Encode(f, runfoldertest.Image(2, 7)), f.Close()); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// open opens the default device and a predictor of the tiny run at batch.
func open(t *testing.T, batch int) (*vkcnn.Run, *vkcnn.Predictor) {
	t.Helper()
	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := vkcnn.LoadRun(exampleRun)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	})
	return run, p
}

// TestPredictBatches classifies new images of every class, more than a
// batch at once: each must be right, and the same, bit for bit, as when
// it comes alone.
func TestPredictBatches(t *testing.T) {
	run, p := open(t, 4)
	var images []image.Image
	for i := range 10 {
		images = append(images, runfoldertest.Image(i%3, uint64(100+i)))
	}
	all, err := p.Predict(images...)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(images) {
		t.Fatalf("%d predictions for %d images", len(all), len(images))
	}
	for i, img := range images {
		got := all[i]
		if got.Class != i%3 || got.Name != runfoldertest.Names[i%3] || got.Inverted {
			t.Errorf("image %d of class %d: %+v", i, i%3, got)
		}
		var sum float64
		for _, q := range got.Probabilities {
			sum += q
		}
		if sum < 0.999999 || sum > 1.000001 || got.Probabilities[got.Class] != slices.Max(got.Probabilities) {
			t.Errorf("image %d: probabilities %v", i, got.Probabilities)
		}
		alone, err := p.Predict(img)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(alone[0].Logits, got.Logits) {
			t.Errorf("image %d: logits %v alone, %v in a batch", i, alone[0].Logits, got.Logits)
		}
		px, _, err := run.Input(img)
		if err != nil {
			t.Fatal(err)
		}
		if bytes, err := p.PredictPixels(px); err != nil || !slices.Equal(bytes[0].Logits, got.Logits) {
			t.Errorf("image %d: PredictPixels gives %v, %v", i, bytes, err)
		}
	}
}

// TestInvertsLightGround: a dark-on-light picture of a run trained on
// light-on-dark images is inverted, and classified as its original.
func TestInvertsLightGround(t *testing.T) {
	_, p := open(t, 0)
	img := runfoldertest.Image(0, 5)
	for i := range img.Pix {
		img.Pix[i] = 255 - img.Pix[i]
	}
	got, err := p.Predict(img)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Inverted || got[0].Class != 0 {
		t.Errorf("%+v", got[0])
	}
}

// TestErrorClasses: what a caller did wrong is ErrBadInput, in the
// command's words; a network past the device's memory is
// ErrOutOfDeviceMemory.
func TestErrorClasses(t *testing.T) {
	empty := t.TempDir()
	_, err := vkcnn.LoadRun(empty)
	if !errors.Is(err, vkcnn.ErrBadInput) || !strings.Contains(err.Error(), empty+": not a run folder") {
		t.Errorf("LoadRun of an empty folder: %v", err)
	}
	notImage := filepath.Join(empty, "x.png")
	os.WriteFile(notImage, []byte("not an image"), 0o644)
	if _, err := vkcnn.ReadImage(notImage); !errors.Is(err, vkcnn.ErrBadInput) || !strings.Contains(err.Error(), "cannot be decoded") {
		t.Errorf("ReadImage of a text file: %v", err)
	}
	_, p := open(t, 2)
	if _, err := p.PredictPixels(make([]byte, 143)); !errors.Is(err, vkcnn.ErrBadInput) || errors.Is(err, vkcnn.ErrDeviceLost) {
		t.Errorf("143 bytes for 12x12x1 images: %v", err)
	}
	if _, err := p.Predict(image.NewGray(image.Rect(0, 0, 5000, 1))); !errors.Is(err, vkcnn.ErrBadInput) || !strings.Contains(err.Error(), "more than 4096 a side") {
		t.Errorf("an image 5000 wide: %v", err)
	}

	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	run, err := vkcnn.LoadRun(exampleRun)
	if err != nil {
		t.Fatal(err)
	}
	huge, err := dev.NewPredictor(run, vkcnn.PredictOptions{Batch: 1 << 28})
	if err == nil {
		huge.Close()
	}
	if !errors.Is(err, vkcnn.ErrOutOfDeviceMemory) || errors.Is(err, vkcnn.ErrBadInput) {
		t.Errorf("a batch of 2^28: %v", err)
	}
}

func ExamplePredictor_Predict() {
	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	run, err := vkcnn.LoadRun(exampleRun)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	img, err := vkcnn.ReadImage(exampleImage)
	if err != nil {
		fmt.Println(err)
		return
	}
	preds, err := p.Predict(img)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("class %d (%s), probability above 0.9: %v\n", preds[0].Class, preds[0].Name, preds[0].Probability > 0.9)
	// Output: class 2 (bottom), probability above 0.9: true
}

func ExampleRun_ExportONNX() {
	run, err := vkcnn.LoadRun(exampleRun)
	if err != nil {
		fmt.Println(err)
		return
	}
	path := filepath.Join(os.TempDir(), "vkcnn-example.onnx")
	defer os.Remove(path)
	if err := run.ExportONNX(path); err != nil {
		fmt.Println(err)
		return
	}
	in := run.Model.Input()
	fmt.Printf("input [N, %d, %d, %d], %d classes: %v\n", in.C, in.H, in.W, run.Classes(), run.ClassNames())
	// Output: input [N, 1, 12, 12], 3 classes: [top middle bottom]
}

// TestPredictNHWC: the values float32(b) / 255 give the logits the bytes
// b give, bit for bit, with and without the run's normalization.
func TestPredictNHWC(t *testing.T) {
	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	for _, norm := range []*augment.Normalization{nil, {Mean: []float32{0.3}, Std: []float32{0.2}}} {
		run, err := vkcnn.LoadRun(exampleRun)
		if err != nil {
			t.Fatal(err)
		}
		run.Record.Normalize = norm
		p, err := dev.NewPredictor(run, vkcnn.PredictOptions{Batch: 4})
		if err != nil {
			t.Fatal(err)
		}
		var px []byte
		for i := range 6 {
			in, _, err := run.Input(runfoldertest.Image(i%3, uint64(200+i)))
			if err != nil {
				t.Fatal(err)
			}
			px = append(px, in...)
		}
		values := make([]float32, len(px))
		for i, b := range px {
			values[i] = float32(b) / 255
		}
		fromBytes, err := p.PredictPixels(px)
		if err != nil {
			t.Fatal(err)
		}
		fromValues, err := p.PredictNHWC(values)
		if err != nil {
			t.Fatal(err)
		}
		for i := range fromBytes {
			if !slices.Equal(fromBytes[i].Logits, fromValues[i].Logits) || fromValues[i].Class != i%3 {
				t.Errorf("normalization %v, image %d: logits %v from bytes, %v from values", norm, i, fromBytes[i].Logits, fromValues[i].Logits)
			}
		}
		if _, err := p.PredictNHWC(values[:5]); !errors.Is(err, vkcnn.ErrBadInput) {
			t.Errorf("5 values: %v", err)
		}
		p.Close()
	}
}

// TestOpenDeviceByIndexOrName: a device is chosen as --device chooses it;
// a name no device has is refused.
func TestOpenDeviceByIndexOrName(t *testing.T) {
	devices, err := vkcnn.Devices()
	if err != nil || len(devices) == 0 {
		t.Fatalf("devices: %v, %v", devices, err)
	}
	want := devices[0]
	for _, choice := range []string{"0", strings.ToUpper(want.Name)} {
		dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{Device: choice})
		if err != nil {
			t.Fatalf("device %q: %v", choice, err)
		}
		if got := dev.Info().Name; got != want.Name {
			t.Errorf("device %q opened %s, want %s", choice, got, want.Name)
		}
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	}
	if dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{Device: "no such device"}); err == nil {
		dev.Close()
		t.Error("a device named \"no such device\" opened")
	} else {
		t.Log(err)
	}
}

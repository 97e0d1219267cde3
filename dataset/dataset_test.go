package dataset

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

// writeSet writes the four MNIST-named files into a new temporary folder:
// the training pair raw, the test pair gzip, as a real folder might mix
// them.
func writeSet(t *testing.T, trainImg, trainLab, testImg, testLab []byte) string {
	t.Helper()
	dir := t.TempDir()
	datatest.Write(t, dir, map[string][]byte{
		"train-images-idx3-ubyte":    trainImg,
		"train-labels-idx1-ubyte":    trainLab,
		"t10k-images-idx3-ubyte.gz":  gz(testImg),
		"t10k-labels-idx1-ubyte.gz":  gz(testLab),
		"README.txt":                 []byte("other files are ignored"),
		"train-images-idx3-ubyte.gz": []byte("a damaged copy: the raw file is read"),
	})
	return dir
}

func TestLoadIDX(t *testing.T) {
	dir := writeSet(t, imageFile(3), labelFile(5, 0, 4), imageFile(2), labelFile(7, 2))
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != "IDX" || d.Geometry != odd || d.Classes != 8 || d.Names != nil || d.Transposed {
		t.Errorf("got %s, %v, %d classes, names %v, transposed %v; want IDX, %v, 8 classes", d.Format, d.Geometry, d.Classes, d.Names, d.Transposed, odd)
	}
	if d.Train.N != 3 || !bytes.Equal(d.Train.Images, pixels(3)) || !bytes.Equal(d.Train.Labels, []uint8{5, 0, 4}) {
		t.Errorf("train: got %d images, labels %v", d.Train.N, d.Train.Labels)
	}
	if d.Test.N != 2 || !bytes.Equal(d.Test.Images, pixels(2)) || !bytes.Equal(d.Test.Labels, []uint8{7, 2}) {
		t.Errorf("test: got %d images, labels %v", d.Test.N, d.Test.Labels)
	}
	want := dir + ": IDX, 3 training and 2 test images of 3x5x1, 8 classes (no training sample of class 1, 2, 3, 6, 7)"
	if d.String() != want {
		t.Errorf("described as %q,\nwant %q", d, want)
	}
}

// TestLoadEMNIST reads EMNIST's names and turns its transposed images
// upright: a file of 3 rows of 5 holds images of 5 rows of 3.
func TestLoadEMNIST(t *testing.T) {
	dir := t.TempDir()
	stored := []byte{
		1, 2, 3, 4, 5,
		6, 7, 8, 9, 10,
		11, 12, 13, 14, 15,
	}
	upright := []byte{
		1, 6, 11,
		2, 7, 12,
		3, 8, 13,
		4, 9, 14,
		5, 10, 15,
	}
	datatest.Write(t, dir, map[string][]byte{
		"emnist-letters-train-images-idx3-ubyte.gz": gz(datatest.IDXImages(odd, 2, append(slices.Clone(stored), stored...))),
		"emnist-letters-train-labels-idx1-ubyte.gz": gz(labelFile(1, 2)),
		"emnist-letters-test-images-idx3-ubyte.gz":  gz(datatest.IDXImages(odd, 1, stored)),
		"emnist-letters-test-labels-idx1-ubyte.gz":  gz(labelFile(2)),
		"emnist-letters-mapping.txt":                []byte("1 65 97\n2 66 98\n"),
	})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := (augment.Geometry{Width: 3, Height: 5, Channels: 1}); d.Geometry != want || !d.Transposed || d.Format != "EMNIST IDX" {
		t.Errorf("got %s of %v, transposed %v; want EMNIST IDX of %v, transposed", d.Format, d.Geometry, d.Transposed, want)
	}
	if !bytes.Equal(d.Train.Images, append(slices.Clone(upright), upright...)) || !bytes.Equal(d.Test.Images, upright) {
		t.Errorf("images %v, %v; want each %v", d.Train.Images, d.Test.Images, upright)
	}
	// The letters are labelled from 1: class 0 has no name and no sample.
	want := dir + ": EMNIST IDX (stored transposed, turned upright on reading), 2 training and 1 test images of 5x3x1, 3 classes " +
		"(no training sample of class 0)"
	if d.Classes != 3 || !slices.Equal(d.Names, []string{"", "Aa", "Bb"}) || d.String() != want {
		t.Errorf("%d classes %q, described as %q,\nwant 3 [\"\" Aa Bb], %q", d.Classes, d.Names, d, want)
	}
}

// TestReadCIFAR checks the order of a record's values against a record
// written out by hand: a label, then the red, green and blue planes.
func TestReadCIFAR(t *testing.T) {
	g := augment.Geometry{Width: 2, Height: 3, Channels: 3}
	record := []byte{9,
		1, 2, 3, 4, 5, 6, // red, rows top to bottom
		11, 12, 13, 14, 15, 16, // green
		21, 22, 23, 24, 25, 26} // blue
	hwc := []byte{1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24, 5, 15, 25, 6, 16, 26}
	for _, data := range [][]byte{append(slices.Clone(record), record...), gz(append(slices.Clone(record), record...))} {
		images, labels, err := ReadCIFAR("c", bytes.NewReader(data), g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(labels, []byte{9, 9}) || !bytes.Equal(images, append(slices.Clone(hwc), hwc...)) {
			t.Fatalf("labels %v, images %v; want [9 9] and %v twice", labels, images, hwc)
		}
	}
	// The test's writer agrees with the reader.
	images, labels := datatest.Learnable(rand.New(rand.NewPCG(1, 2)), g, 4, 5)
	gotImages, gotLabels, err := ReadCIFAR("c", bytes.NewReader(datatest.CIFAR(g, images, labels)), g)
	if err != nil || !bytes.Equal(gotImages, images) || !bytes.Equal(gotLabels, labels) {
		t.Fatalf("datatest.CIFAR and ReadCIFAR disagree (%v)", err)
	}
}

// writeCIFAR writes CIFAR-10's files into a new temporary folder: batches
// of records of the given labels, and the class names.
func writeCIFAR(t *testing.T, names string, batches map[string][]uint8) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{"readme.html": []byte("ignored")}
	if names != "" {
		files["batches.meta.txt"] = []byte(names)
	}
	for name, labels := range batches {
		files[name] = datatest.CIFAR(CIFAR10, make([]byte, len(labels)*CIFAR10.Values()), labels)
	}
	datatest.Write(t, dir, files)
	return dir
}

func TestLoadCIFAR(t *testing.T) {
	dir := writeCIFAR(t, "cat\ndog\nfrog \n\n", map[string][]uint8{
		"data_batch_1.bin": {0, 1}, "data_batch_2.bin": {2}, "test_batch.bin": {1, 1}})
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != "CIFAR-10 binary" || d.Geometry != CIFAR10 || d.Classes != 3 || !slices.Equal(d.Names, []string{"cat", "dog", "frog"}) {
		t.Errorf("got %s of %v, %d classes %q", d.Format, d.Geometry, d.Classes, d.Names)
	}
	if !bytes.Equal(d.Train.Labels, []byte{0, 1, 2}) || d.Train.N != 3 || len(d.Train.Images) != 3*32*32*3 || d.Test.N != 2 {
		t.Errorf("training labels %v (%d), test %d", d.Train.Labels, d.Train.N, d.Test.N)
	}
	// Without a class list the labels count the classes.
	dir = writeCIFAR(t, "", map[string][]uint8{"data_batch_1.bin": {0, 5}, "test_batch.bin": {1}})
	if d, err = Load(dir); err != nil || d.Classes != 6 || d.Names != nil {
		t.Fatalf("%v: %d classes, names %v; want 6 and none", err, d.Classes, d.Names)
	}
}

// TestLoadBadInput: every error names the file or folder and says what is
// wrong.
func TestLoadBadInput(t *testing.T) {
	idxSet := func(t *testing.T) string {
		return writeSet(t, imageFile(3), labelFile(5, 0, 4), imageFile(2), labelFile(7, 2))
	}
	cases := []struct {
		name   string
		dir    func(t *testing.T) string
		want   string // the error, with {dir} for the folder
		noData bool   // errors.Is(err, ErrNoData)
	}{
		{"no such folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") },
			"no dataset in {dir} (no such folder): want train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz; EMNIST's emnist-SPLIT-train-images-idx3-ubyte and so on), CIFAR-10's data_batch_1.bin ... test_batch.bin, x_train.npy, y_train.npy, x_test.npy and y_test.npy (or a FILE.npz of them, as Keras' mnist.npz), or images (PNG, JPEG, GIF, BMP or WebP) in train/CLASS/ and test/CLASS/ (or val/) folders, or in CLASS/ folders alone: run ./build.sh data for MNIST, or pass --data DIR / set VKCNN_DATA", true},
		{"nothing recognisable", func(t *testing.T) string {
			dir := t.TempDir()
			datatest.Write(t, dir, map[string][]byte{"train.csv": nil, "images-idx3-ubyte": nil})
			return dir
		}, "no dataset in {dir}: want train-images-idx3-ubyte", true},
		{"count mismatch", func(t *testing.T) string {
			return writeSet(t, imageFile(3), labelFile(5, 0), imageFile(2), labelFile(7, 2))
		},
			"{dir}/train-labels-idx1-ubyte: 2 labels for the 3 images of train-images-idx3-ubyte", false},
		{"sizes differ", func(t *testing.T) string {
			return writeSet(t, imageFile(3), labelFile(5, 0, 4), datatest.IDXImages(augment.Geometry{Width: 5, Height: 4, Channels: 1}, 1, make([]byte, 20)), labelFile(1))
		}, "{dir}/t10k-images-idx3-ubyte.gz: images are 4x5x1, the training images (train-images-idx3-ubyte) 3x5x1", false},
		{"no images", func(t *testing.T) string {
			return writeSet(t, imageFile(0), labelFile(), imageFile(2), labelFile(7, 2))
		},
			"{dir}/train-images-idx3-ubyte: no images", false},
		{"damaged file", func(t *testing.T) string {
			dir := idxSet(t)
			datatest.Write(t, dir, map[string][]byte{"t10k-images-idx3-ubyte.gz": gz(imageFile(2))[:30]})
			return dir
		}, "{dir}/t10k-images-idx3-ubyte.gz: truncated gzip stream: unexpected EOF", false},
		{"a file missing", func(t *testing.T) string {
			dir := t.TempDir()
			datatest.Write(t, dir, map[string][]byte{"emnist-digits-train-images-idx3-ubyte": imageFile(1), "emnist-digits-train-labels-idx1-ubyte": labelFile(1),
				"emnist-digits-test-images-idx3-ubyte.gz": gz(imageFile(1))})
			return dir
		}, "no dataset in {dir}: it has emnist-digits-train-images-idx3-ubyte, emnist-digits-train-labels-idx1-ubyte, emnist-digits-test-images-idx3-ubyte.gz but no test labels (emnist-digits-test-labels-idx1-ubyte, raw or .gz)", true},
		{"two data sets", func(t *testing.T) string {
			dir := idxSet(t)
			datatest.Write(t, dir, map[string][]byte{"emnist-digits-train-images-idx3-ubyte": nil})
			return dir
		}, "{dir} holds the IDX files of 2 data sets (emnist-digits-train-images-idx3-ubyte, t10k-images-idx3-ubyte.gz, ...): give a folder with one", false},
		{"two test files", func(t *testing.T) string {
			dir := idxSet(t)
			datatest.Write(t, dir, map[string][]byte{"test-images-idx3-ubyte": nil})
			return dir
		}, "{dir}: both t10k-images-idx3-ubyte.gz and test-images-idx3-ubyte are test images", false},
		{"IDX and CIFAR", func(t *testing.T) string {
			dir := idxSet(t)
			datatest.Write(t, dir, map[string][]byte{"test_batch.bin": nil, "data_batch_1.bin": nil})
			return dir
		}, "{dir} holds both IDX files and CIFAR-10 batches: give a folder with one data set", false},
		{"label beyond the classes", func(t *testing.T) string {
			return writeCIFAR(t, "cat\ndog\n", map[string][]uint8{"data_batch_1.bin": {0, 1}, "data_batch_2.bin": {1, 0, 2}, "test_batch.bin": {1}})
		}, "{dir}/data_batch_2.bin: label 2 of sample 3 is beyond the 2 classes of batches.meta.txt", false},
		{"truncated record", func(t *testing.T) string {
			dir := writeCIFAR(t, "", map[string][]uint8{"data_batch_1.bin": {0, 1}})
			datatest.Write(t, dir, map[string][]byte{"test_batch.bin": make([]byte, 2*3073+100)})
			return dir
		}, "{dir}/test_batch.bin: truncated: record 3 has 100 of its 3073 bytes (a label byte and a 32x32x3 image)", false},
		{"empty batch", func(t *testing.T) string {
			return writeCIFAR(t, "", map[string][]uint8{"data_batch_1.bin": {0, 1}, "test_batch.bin": {}})
		}, "{dir}/test_batch.bin: empty file", false},
		{"a batch missing", func(t *testing.T) string {
			return writeCIFAR(t, "", map[string][]uint8{"data_batch_1.bin": {0}, "data_batch_3.bin": {0}, "test_batch.bin": {0}})
		}, "no dataset in {dir}: data_batch_2.bin is missing (the training batches are numbered from 1)", true},
		{"no test batch", func(t *testing.T) string {
			return writeCIFAR(t, "", map[string][]uint8{"data_batch_1.bin": {0}, "data_batch_2.bin": {0}})
		}, "no dataset in {dir}: it has data_batch_1.bin, data_batch_2.bin but no test_batch.bin", true},
		{"no training batches", func(t *testing.T) string { return writeCIFAR(t, "", map[string][]uint8{"test_batch.bin": {0}}) },
			"no dataset in {dir}: it has test_batch.bin but no training batches (data_batch_1.bin ...)", true},
		{"label beyond EMNIST's mapping", func(t *testing.T) string {
			dir := t.TempDir()
			datatest.Write(t, dir, map[string][]byte{"emnist-x-train-images-idx3-ubyte": imageFile(1), "emnist-x-train-labels-idx1-ubyte": labelFile(1),
				"emnist-x-test-images-idx3-ubyte": imageFile(2), "emnist-x-test-labels-idx1-ubyte": labelFile(1, 2), "emnist-x-mapping.txt": []byte("0 48\n1 49\n")})
			return dir
		}, "{dir}/emnist-x-test-labels-idx1-ubyte: label 2 of sample 2 is beyond the 2 classes of emnist-x-mapping.txt", false},
		{"bad mapping", func(t *testing.T) string {
			dir := t.TempDir()
			datatest.Write(t, dir, map[string][]byte{"emnist-x-train-images-idx3-ubyte": imageFile(1), "emnist-x-train-labels-idx1-ubyte": labelFile(1),
				"emnist-x-test-images-idx3-ubyte": imageFile(1), "emnist-x-test-labels-idx1-ubyte": labelFile(1), "emnist-x-mapping.txt": []byte("0 48\n1\n")})
			return dir
		}, "{dir}/emnist-x-mapping.txt: line 2: want a label 0..255 and character codes", false},
		{"blank class name", func(t *testing.T) string {
			return writeCIFAR(t, "cat\n\ndog\n", map[string][]uint8{"data_batch_1.bin": {0}, "test_batch.bin": {0}})
		}, "{dir}/batches.meta.txt: line 2 is blank: want a class a line", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir(t)
			_, err := Load(dir)
			want := strings.ReplaceAll(c.want, "{dir}", dir)
			if err == nil || !strings.HasPrefix(err.Error(), want) || errors.Is(err, ErrNoData) != c.noData {
				t.Fatalf("got %v (ErrNoData: %v),\nwant %q (ErrNoData: %v)", err, errors.Is(err, ErrNoData), want, c.noData)
			}
		})
	}
}

func TestDir(t *testing.T) {
	t.Setenv("VKCNN_DATA", "")
	if got := Dir(""); got != DefaultDir {
		t.Errorf("no flag, no env: got %q, want %q", got, DefaultDir)
	}
	t.Setenv("VKCNN_DATA", "/env")
	if got := Dir(""); got != "/env" {
		t.Errorf("env: got %q, want /env", got)
	}
	if got := Dir("/flag"); got != "/flag" {
		t.Errorf("flag and env: got %q, want /flag", got)
	}
}

// TestLoadReal reads the real MNIST when ./build.sh data has fetched it.
func TestLoadReal(t *testing.T) {
	dir := filepath.Join("..", DefaultDir)
	d, err := Load(dir)
	if errors.Is(err, ErrNoData) {
		t.Skipf("no MNIST in %s (./build.sh data fetches it)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 60000 || d.Test.N != 10000 || d.Geometry != (augment.Geometry{Width: 28, Height: 28, Channels: 1}) || d.Classes != 10 {
		t.Fatalf("got %d training and %d test images of %v, %d classes; want 60000 and 10000 of 28x28x1, 10 classes", d.Train.N, d.Test.N, d.Geometry, d.Classes)
	}
	// The first training digit is a 5, the first test digit a 7.
	if d.Train.Labels[0] != 5 || d.Test.Labels[0] != 7 {
		t.Errorf("first labels: train %d, test %d; want 5 and 7", d.Train.Labels[0], d.Test.Labels[0])
	}
}

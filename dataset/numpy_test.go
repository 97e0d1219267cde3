package dataset

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

func float32s(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func int64s(v []uint8) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, l := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(l))
	}
	return b
}

// oneHot encodes labels as float32 rows of classes.
func oneHot(labels []uint8, classes int) []byte {
	v := make([]float32, len(labels)*classes)
	for i, l := range labels {
		v[i*classes+int(l)] = 1
	}
	return float32s(v)
}

// TestLoadNumPy reads uint8 images with integer labels from an .npz, and
// float32 images of either scale with one-hot labels from .npy files,
// into exactly the bytes they hold.
func TestLoadNumPy(t *testing.T) {
	g := augment.Geometry{Height: 3, Width: 5, Channels: 2}
	train, test := make([]byte, 4*g.Values()), make([]byte, 2*g.Values())
	for i := range train {
		train[i] = byte(i*7 + 1)
	}
	copy(test, train[7:])
	trainLabels, testLabels := []uint8{3, 0, 1, 3}, []uint8{2, 1}
	scaled := func(px []byte, unit bool) []byte {
		v := make([]float32, len(px))
		for i, b := range px {
			v[i] = float32(b)
			if unit {
				v[i] /= 255
			}
		}
		return float32s(v)
	}
	shape := func(n int) []int { return []int{n, g.Height, g.Width, g.Channels} }
	dir := t.TempDir()
	npz := filepath.Join(dir, "set.npz")
	datatest.Write(t, dir, map[string][]byte{"set.npz": datatest.NPZ(map[string][]byte{
		"x_train": datatest.NPY("|u1", shape(4), train), "y_train": datatest.NPY("<i8", []int{4}, int64s(trainLabels)),
		"x_test": datatest.NPY("|u1", shape(2), test), "y_test": datatest.NPY("<i8", []int{2}, int64s(testLabels)),
	})})
	for _, c := range []struct {
		name, path, format string
		classes            int
	}{
		{"npz", npz, "NumPy .npz", 4},
		{"float32 in [0, 1]", writeNPY(t, scaled(train, true), scaled(test, true), shape, trainLabels, testLabels), "NumPy .npy (float32 in [0, 1], exactly k/255)", 6},
		{"float32 in [0, 255]", writeNPY(t, scaled(train, false), scaled(test, false), shape, trainLabels, testLabels), "NumPy .npy (float32 in [0, 255], whole numbers)", 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Load(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if d.Format != c.format || d.Geometry != g || d.Classes != c.classes {
				t.Errorf("got %s, %v, %d classes; want %s, %v, %d", d.Format, d.Geometry, d.Classes, c.format, g, c.classes)
			}
			if !bytes.Equal(d.Train.Images, train) || !bytes.Equal(d.Test.Images, test) || !bytes.Equal(d.Train.Labels, trainLabels) || !bytes.Equal(d.Test.Labels, testLabels) {
				t.Errorf("the images or labels differ from the arrays'")
			}
		})
	}
}

// writeNPY writes float32 images (x_train and x_test) and one-hot labels
// of 6 classes as .npy files into a new folder.
func writeNPY(t *testing.T, train, test []byte, shape func(int) []int, trainLabels, testLabels []uint8) string {
	t.Helper()
	dir := t.TempDir()
	datatest.Write(t, dir, map[string][]byte{
		"x_train.npy": datatest.NPY("<f4", shape(len(trainLabels)), train), "y_train.npy": datatest.NPY("<f4", []int{len(trainLabels), 6}, oneHot(trainLabels, 6)),
		"x_test.npy": datatest.NPY("<f4", shape(len(testLabels)), test), "y_test.npy": datatest.NPY("<f4", []int{len(testLabels), 6}, oneHot(testLabels, 6)),
	})
	return dir
}

// TestLoadNumPyRefusals refuses, in one line naming the array, what
// cannot become bytes exactly and labels that are not labels.
func TestLoadNumPyRefusals(t *testing.T) {
	good := map[string][]byte{
		"x_train.npy": datatest.NPY("|u1", []int{2, 2, 2}, make([]byte, 8)), "y_train.npy": datatest.NPY("|u1", []int{2}, []byte{0, 1}),
		"x_test.npy": datatest.NPY("|u1", []int{1, 2, 2}, make([]byte, 4)), "y_test.npy": datatest.NPY("|u1", []int{1}, []byte{1}),
	}
	for _, c := range []struct {
		name, file string
		data       []byte // nil: the file is removed
		want       string
	}{
		{"not k/255", "x_train.npy", datatest.NPY("<f4", []int{2, 2, 2}, float32s([]float32{0, 0.5, 1, 0, 0, 0, 0, 0})),
			"x_train.npy: value 0.5 of image 0 is not a whole number of 255ths, k/255 (no value exceeds 1, so they are taken for [0, 1]): vkcnn holds images as bytes and does not round"},
		{"not whole", "x_test.npy", datatest.NPY("<f4", []int{1, 2, 2}, float32s([]float32{0, 3, 127.5, 255})),
			"x_test.npy: value 127.5 of image 0 is not a whole number in [0, 255] (the values exceed 1, so they are taken for [0, 255])"},
		{"beyond 255", "x_test.npy", datatest.NPY("<f4", []int{1, 2, 2}, float32s([]float32{0, 3, 256, 255})), "x_test.npy: value 256 of image 0 is not a whole number in [0, 255]"},
		{"float64 images", "x_train.npy", datatest.NPY("<f8", []int{2, 2, 2}, make([]byte, 64)), "x_train.npy: dtype f8: want uint8 or float32 images"},
		{"not one-hot", "y_train.npy", datatest.NPY("<f4", []int{2, 3}, float32s([]float32{0, 1, 0, 1, 1, 0})), "y_train.npy: row 1 is not one-hot"},
		{"negative label", "y_test.npy", datatest.NPY("<i4", []int{1}, []byte{0xff, 0xff, 0xff, 0xff}), "y_test.npy: label -1 of sample 0 is not a whole number in [0, 255]"},
		{"label count", "y_test.npy", datatest.NPY("|u1", []int{2}, []byte{1, 1}), "y_test.npy: 2 labels for the 1 images of"},
		{"other size", "x_test.npy", datatest.NPY("|u1", []int{1, 1, 4}, make([]byte, 4)), "x_test.npy: images of 1x4x1, the training images are 2x2x1"},
		{"truncated", "x_train.npy", datatest.NPY("|u1", []int{2, 2, 2}, make([]byte, 7)), "x_train.npy: 7 bytes of data, its shape [2 2 2] of |u1 wants 8"},
		{"missing", "y_test.npy", nil, "it has NumPy arrays but not y_test.npy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			datatest.Write(t, dir, good)
			if c.data == nil {
				os.Remove(filepath.Join(dir, c.file))
			} else {
				datatest.Write(t, dir, map[string][]byte{c.file: c.data})
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v,\nwant one line with %q", err, c.want)
			}
		})
	}
	dir := t.TempDir()
	datatest.Write(t, dir, map[string][]byte{"keras.npz": datatest.NPZ(map[string][]byte{"x_train": good["x_train.npy"]})})
	if _, err := Load(filepath.Join(dir, "keras.npz")); err == nil || !strings.Contains(err.Error(), "keras.npz: no array y_train, x_test, y_test") {
		t.Errorf("an archive without the arrays: got %v", err)
	}
}

// Package mnist reads the MNIST handwritten digits from the four standard IDX
// files, raw or gzip.
package mnist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Rows and Cols are the size of an MNIST image; Pixels is their product.
const (
	Rows, Cols = 28, 28
	Pixels     = Rows * Cols
)

// Classes is the number of labels, the digits 0..9.
const Classes = 10

// Set is one split of MNIST: N images of Pixels bytes each, row-major, 0 the
// background and 255 the ink, and their N labels 0..9.
type Set struct {
	Images []byte
	Labels []uint8
	N      int
}

// ErrNoData is matched, with errors.Is, by Load's error when a file is missing.
var ErrNoData = errors.New("no MNIST data")

// DefaultDir is where ./build.sh data puts the files, relative to the
// repository root.
const DefaultDir = "data/mnist"

// Dir picks the data folder: the --data flag's value when given, else
// $VKCNN_DATA, else DefaultDir.
func Dir(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("VKCNN_DATA"); env != "" {
		return env
	}
	return DefaultDir
}

// The standard file names, without the .gz that the published copies have.
const (
	trainImages = "train-images-idx3-ubyte"
	trainLabels = "train-labels-idx1-ubyte"
	testImages  = "t10k-images-idx3-ubyte"
	testLabels  = "t10k-labels-idx1-ubyte"
)

// Load reads the training and test sets (60,000 and 10,000 digits in MNIST)
// from dir, where each of the four standard files may be raw or gzip, named
// with or without .gz. It looks for all four before reading any, so that a
// missing file is reported at once rather than after the big ones are read.
func Load(dir string) (train, test *Set, err error) {
	var paths [4]string
	for i, name := range []string{trainImages, trainLabels, testImages, testLabels} {
		if paths[i], err = find(dir, name); err != nil {
			return nil, nil, err
		}
	}
	if train, err = loadSet(paths[0], paths[1]); err != nil {
		return nil, nil, err
	}
	if test, err = loadSet(paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// find returns the path of name or name.gz in dir, or an ErrNoData error
// that says how to get the files.
func find(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%w in %s (missing %s.gz): run ./build.sh data, or pass --data DIR / set VKCNN_DATA to a folder holding the four MNIST files",
		ErrNoData, dir, name)
}

func loadSet(imagesPath, labelsPath string) (*Set, error) {
	f, err := os.Open(imagesPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	images, n, err := ReadImages(filepath.Base(imagesPath), f)
	if err != nil {
		return nil, err
	}
	g, err := os.Open(labelsPath)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	labelsName := filepath.Base(labelsPath)
	labels, err := ReadLabels(labelsName, g)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%s: %d labels for %d images", labelsName, len(labels), n)
	}
	return &Set{Images: images, Labels: labels, N: n}, nil
}

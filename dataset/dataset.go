// Package dataset reads image-classification data sets from a folder:
// the IDX files of MNIST, Fashion-MNIST, KMNIST and EMNIST (raw or gzip)
// or CIFAR-10's binary batches, recognised by their file names, NumPy
// arrays (.npz or .npy), or folders of images sorted into one subfolder a
// class.
package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/numfmt"
)

// Set is one split of a data set: N images of the data set's geometry,
// HWC, a byte a value (0 dark, 255 light), and their N labels.
type Set struct {
	Images []byte
	Labels []uint8
	N      int
}

// Dataset is a folder's training and test sets.
type Dataset struct {
	Dir string
	// Format names the files: "IDX", "EMNIST IDX" or "CIFAR-10 binary".
	Format   string
	Geometry augment.Geometry
	// Classes is the larger of len(Names) and the largest label + 1.
	Classes int
	// Names are the classes' names where the folder lists them, else nil.
	Names []string
	// Transposed says that the files store each image transposed
	// (EMNIST's do); Load turns them upright.
	Transposed  bool
	Train, Test *Set
	// An image folder's decoded cache ("" where it could not be
	// written), and the size and colour its images were read with (Size
	// zero: their own; Color never ColorAuto).
	Cache string
	Size  Size
	Color Color
	// unmap releases the cache's memory map the sets' slices lie in (nil:
	// they are the program's own memory).
	unmap func() error
}

// Close releases the memory map of a set read from a decoded cache; the
// sets' images must not be used after it. Other sets have nothing to
// release.
func (d *Dataset) Close() error {
	if d.unmap == nil {
		return nil
	}
	err := d.unmap()
	d.unmap, d.Train, d.Test = nil, nil, nil
	return err
}

// ErrNoData is matched, with errors.Is, by Load's error when the folder
// holds no data set it recognises.
var ErrNoData = errors.New("no dataset")

// DefaultDir is where ./build.sh data puts MNIST, relative to the
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

// wanted says what a data folder holds, for the error when it holds none.
const wanted = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte " +
	"(raw or .gz; EMNIST's emnist-SPLIT-train-images-idx3-ubyte and so on), CIFAR-10's data_batch_1.bin ... test_batch.bin, " +
	"x_train.npy, y_train.npy, x_test.npy and y_test.npy (or a FILE.npz of them, as Keras' mnist.npz), " +
	"or images (" + formats + ") in train/CLASS/ and test/CLASS/ (or val/) folders, or in CLASS/ folders alone: " +
	"run ./build.sh data for MNIST, or pass --data DIR / set VKCNN_DATA"

// Load reads the data set in dir as LoadWith does with no options.
func Load(dir string) (*Dataset, error) {
	return LoadWith(dir, Options{})
}

// LoadWith reads the data set in dir: one training and one test pair of
// IDX files, or CIFAR-10's batches (other files are ignored); else a
// folder of class folders of images, read as opts say. It finds every
// file before reading any, so that a missing or bad one is reported at
// once.
func LoadWith(dir string, opts Options) (*Dataset, error) {
	if isNPZ(dir) {
		return loadNPZ(dir)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (no such folder): want %s", ErrNoData, dir, wanted)
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	idx, err := findIDX(dir, names)
	if err != nil {
		return nil, err
	}
	cifar, err := findCIFAR(dir, names)
	if err != nil {
		return nil, err
	}
	switch {
	case idx != nil && cifar != nil:
		return nil, fmt.Errorf("%s holds both IDX files and CIFAR-10 batches: give a folder with one data set", dir)
	case idx != nil:
		return idx.load()
	case cifar != nil:
		return cifar.load()
	}
	npyFiles, err := findNPY(dir, names)
	if err != nil {
		return nil, err
	}
	if npyFiles {
		return loadNPYFolder(dir)
	}
	tree, err := findImageTree(dir)
	if err != nil {
		return nil, err
	}
	if tree != nil {
		return tree.load(opts)
	}
	return nil, fmt.Errorf("%w in %s: want %s", ErrNoData, dir, wanted)
}

// countClasses sets Classes from the class list and the labels.
func (d *Dataset) countClasses() {
	top := -1
	for _, s := range []*Set{d.Train, d.Test} {
		for _, l := range s.Labels {
			top = max(top, int(l))
		}
	}
	d.Classes = max(len(d.Names), top+1)
}

// checkLabels checks that every label of a file is in the class list
// (list, the file that has it), where the data set has one.
func (d *Dataset) checkLabels(path string, labels []uint8, list string) error {
	if d.Names == nil {
		return nil
	}
	if i := slices.IndexFunc(labels, func(l uint8) bool { return int(l) >= len(d.Names) }); i >= 0 {
		return fmt.Errorf("%s: label %d of sample %d is beyond the %d classes of %s", path, labels[i], i+1, len(d.Names), list)
	}
	return nil
}

// Unused are the classes without a training sample (EMNIST letters,
// labelled 1 to 26, leave class 0 unused).
func (d *Dataset) Unused() []int {
	seen := make([]bool, d.Classes)
	for _, l := range d.Train.Labels {
		seen[l] = true
	}
	var out []int
	for c, ok := range seen {
		if !ok {
			out = append(out, c)
		}
	}
	return out
}

// String describes the data set in a line: where, what, how many, what
// size, and what reading it changed.
func (d *Dataset) String() string {
	format := d.Format
	if d.Transposed {
		format += " (stored transposed, turned upright on reading)"
	}
	s := fmt.Sprintf("%s: %s, %s training and %s test images of %s, %d classes", d.Dir, format,
		numfmt.Commas(d.Train.N), numfmt.Commas(d.Test.N), d.Geometry, d.Classes)
	if unused := d.Unused(); len(unused) > 0 {
		list := make([]string, len(unused))
		for i, c := range unused {
			list[i] = fmt.Sprint(c)
		}
		s += fmt.Sprintf(" (no training sample of class %s)", strings.Join(list, ", "))
	}
	return s
}

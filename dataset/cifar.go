package dataset

import (
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vkcnn/vkcnn/augment"
)

// CIFAR10 is the size of CIFAR-10's images.
var CIFAR10 = augment.Geometry{Width: 32, Height: 32, Channels: 3}

// ReadCIFAR reads a file of CIFAR-10's binary format, raw or gzip:
// records of a label byte and an image of g, its values channel by channel
// (each channel's rows top to bottom). It returns the images HWC, as
// every data set is held, and the labels. name only labels the errors.
func ReadCIFAR(name string, r io.Reader, g augment.Geometry) ([]byte, []uint8, error) {
	s, err := newSource(name, r)
	if err != nil {
		return nil, nil, err
	}
	record := 1 + g.Values()
	data, err := io.ReadAll(io.LimitReader(s, int64(MaxImages)*int64(record)+1))
	switch {
	case err != nil:
		return nil, nil, err
	case len(data) == 0:
		return nil, nil, s.errorf("empty file")
	case len(data) > MaxImages*record:
		return nil, nil, s.errorf("more than %d records", MaxImages)
	case len(data)%record != 0:
		return nil, nil, s.errorf("truncated: record %d has %d of its %d bytes (a label byte and a %s image)",
			len(data)/record+1, len(data)%record, record, g)
	}
	n, plane := len(data)/record, g.Width*g.Height
	images, labels := make([]byte, n*g.Values()), make([]uint8, n)
	for i := range n {
		rec, img := data[i*record:(i+1)*record], images[i*g.Values():(i+1)*g.Values()]
		labels[i] = rec[0]
		for c := range g.Channels {
			for p, v := range rec[1+c*plane : 1+(c+1)*plane] {
				img[p*g.Channels+c] = v
			}
		}
	}
	return images, labels, nil
}

// maxClassNames is the most classes a byte label can name.
const maxClassNames = 256

// ReadClassNames reads CIFAR-10's class list, batches.meta.txt: a name a
// line. name only labels the errors.
func ReadClassNames(name string, r io.Reader) ([]string, error) {
	names, err := readLines(name, r)
	if err != nil {
		return nil, err
	}
	if len(names) > maxClassNames {
		return nil, fmt.Errorf("%s: %d class names, more than the %d a label byte tells apart", name, len(names), maxClassNames)
	}
	return names, nil
}

// CIFAR-10's file names.
var cifarBatch = regexp.MustCompile(`^data_batch_([0-9]+)\.bin$`)

const (
	cifarTest  = "test_batch.bin"
	cifarNames = "batches.meta.txt"
)

// cifarFiles are CIFAR-10's files in dir.
type cifarFiles struct {
	dir   string
	train []string // data_batch_1.bin, data_batch_2.bin, ...
	names bool     // batches.meta.txt is there
}

// findCIFAR finds CIFAR-10's batches among the names of the files in dir:
// nil where there are none. The training batches must be numbered from 1
// without a gap, so that none goes missing unnoticed.
func findCIFAR(dir string, names []string) (*cifarFiles, error) {
	var numbers []int
	test := false
	f := &cifarFiles{dir: dir}
	for _, name := range names {
		if m := cifarBatch.FindStringSubmatch(name); m != nil {
			if k, err := strconv.Atoi(m[1]); err == nil {
				numbers = append(numbers, k)
			}
		}
		test = test || name == cifarTest
		f.names = f.names || name == cifarNames
	}
	if len(numbers) == 0 && !test {
		return nil, nil
	}
	slices.Sort(numbers)
	for i, k := range numbers {
		if k != i+1 {
			return nil, fmt.Errorf("%w in %s: data_batch_%d.bin is missing (the training batches are numbered from 1)", ErrNoData, dir, i+1)
		}
		f.train = append(f.train, fmt.Sprintf("data_batch_%d.bin", k))
	}
	switch {
	case len(numbers) == 0:
		return nil, fmt.Errorf("%w in %s: it has %s but no training batches (data_batch_1.bin ...)", ErrNoData, dir, cifarTest)
	case !test:
		return nil, fmt.Errorf("%w in %s: it has %s but no %s", ErrNoData, dir, strings.Join(f.train, ", "), cifarTest)
	}
	return f, nil
}

// load reads the batches and the class names, and checks every label
// against the names.
func (f *cifarFiles) load() (*Dataset, error) {
	d := &Dataset{Dir: f.dir, Format: "CIFAR-10 binary", Geometry: CIFAR10, Train: &Set{}}
	if f.names {
		path := filepath.Join(f.dir, cifarNames)
		err := readFile(path, func(r io.Reader) (err error) {
			d.Names, err = ReadClassNames(path, r)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	for _, name := range f.train {
		if err := f.loadBatch(d, name, d.Train); err != nil {
			return nil, err
		}
	}
	d.Test = &Set{}
	if err := f.loadBatch(d, cifarTest, d.Test); err != nil {
		return nil, err
	}
	d.countClasses()
	return d, nil
}

// loadBatch appends a batch file's records to set.
func (f *cifarFiles) loadBatch(d *Dataset, name string, set *Set) error {
	path := filepath.Join(f.dir, name)
	var images, labels []byte
	err := readFile(path, func(r io.Reader) (err error) {
		images, labels, err = ReadCIFAR(path, r, d.Geometry)
		return err
	})
	if err != nil {
		return err
	}
	if err := d.checkLabels(path, labels, cifarNames); err != nil {
		return err
	}
	set.Images, set.Labels, set.N = append(set.Images, images...), append(set.Labels, labels...), set.N+len(labels)
	return nil
}

package dataset

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"

	"github.com/vkcnn/vkcnn/augment"
)

// The arrays of a NumPy data set, as Keras' mnist.npz names them.
var numpyNames = [4]string{"x_train", "y_train", "x_test", "y_test"}

// isNPZ says whether path names a NumPy archive.
func isNPZ(path string) bool { return strings.EqualFold(filepath.Ext(path), ".npz") }

// findNPY says whether the names of a folder's files hold a NumPy data
// set, x_train.npy and the others; one alone is an error naming the
// missing.
func findNPY(dir string, names []string) (bool, error) {
	var missing []string
	for _, n := range numpyNames {
		if !slices.Contains(names, n+".npy") {
			missing = append(missing, n+".npy")
		}
	}
	switch len(missing) {
	case 0:
		return true, nil
	case len(numpyNames):
		return false, nil
	}
	return false, fmt.Errorf("%w in %s: it has NumPy arrays but not %s", ErrNoData, dir, strings.Join(missing, ", "))
}

// loadNPZ reads a NumPy archive with x_train, y_train, x_test and y_test.
func loadNPZ(path string) (*Dataset, error) {
	f, err := npz.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	var missing []string
	for _, n := range numpyNames {
		if !slices.Contains(f.Keys(), n+".npy") {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no array %s (want x_train, y_train, x_test and y_test, as Keras' mnist.npz)", path, strings.Join(missing, ", "))
	}
	return loadArrays(path, "NumPy .npz", func(name string) (string, io.ReadCloser, error) {
		rc, err := f.Open(name + ".npy")
		return path + ":" + name, rc, err
	})
}

// loadNPYFolder reads x_train.npy and the others from dir.
func loadNPYFolder(dir string) (*Dataset, error) {
	return loadArrays(dir, "NumPy .npy", func(name string) (string, io.ReadCloser, error) {
		path := filepath.Join(dir, name+".npy")
		f, err := os.Open(path)
		return path, f, err
	})
}

// loadArrays reads the four arrays that open opens, by name.
func loadArrays(where, format string, open func(name string) (string, io.ReadCloser, error)) (*Dataset, error) {
	var arrays [4]*array
	for i, name := range numpyNames {
		label, rc, err := open(name)
		if err != nil {
			return nil, err
		}
		arrays[i], err = readArray(label, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	d := &Dataset{Dir: where, Format: format}
	var scale string
	oneHot := 0
	for i, set := range []**Set{&d.Train, &d.Test} {
		x, y := arrays[2*i], arrays[2*i+1]
		g, images, s, err := x.images()
		if err != nil {
			return nil, err
		}
		if i == 1 && g != d.Geometry {
			return nil, fmt.Errorf("%s: images of %s, the training images are %s", x.name, g, d.Geometry)
		}
		d.Geometry, scale = g, s
		labels, width, err := y.labels()
		if err != nil {
			return nil, err
		}
		if len(labels) != len(images)/g.Values() {
			return nil, fmt.Errorf("%s: %d labels for the %d images of %s", y.name, len(labels), len(images)/g.Values(), x.name)
		}
		oneHot = max(oneHot, width)
		*set = &Set{Images: images, Labels: labels, N: len(labels)}
	}
	if scale != "" {
		d.Format += " (" + scale + ")"
	}
	d.countClasses()
	d.Classes = max(d.Classes, oneHot)
	return d, nil
}

// array is a NumPy array read whole: its dtype, shape and bytes.
type array struct {
	name  string
	dtype string // NumPy's, the byte order's character dropped
	shape []int
	data  []byte
}

// readArray reads an .npy stream; name labels the errors.
func readArray(name string, r io.Reader) (*array, error) {
	rd, err := npy.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a NumPy array: %w", name, err)
	}
	h := rd.Header.Descr
	if h.Fortran {
		return nil, fmt.Errorf("%s: stored in Fortran order: save it in C order (numpy.ascontiguousarray)", name)
	}
	a := &array{name: name, shape: h.Shape}
	dtype := strings.Trim(h.Type, `'"`) // npy keeps the header's quotes
	if len(dtype) < 2 || !strings.ContainsRune("|<=", rune(dtype[0])) {
		return nil, fmt.Errorf("%s: dtype %s: want uint8 or float32 images, integer or one-hot labels, little-endian", name, dtype)
	}
	a.dtype = dtype[1:]
	size, ok := itemSizes[a.dtype]
	if !ok {
		return nil, fmt.Errorf("%s: dtype %s: want uint8 or float32 images, integer or one-hot labels", name, dtype)
	}
	n := int64(size)
	for _, d := range a.shape {
		if d < 0 || n*int64(max(d, 1)) > 1<<40 {
			return nil, fmt.Errorf("%s: shape %v is too large", name, a.shape)
		}
		n *= int64(d)
	}
	a.data, err = io.ReadAll(io.LimitReader(r, n+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	case int64(len(a.data)) != n:
		return nil, fmt.Errorf("%s: %d bytes of data, its shape %v of %s wants %d", name, len(a.data), a.shape, dtype, n)
	}
	return a, nil
}

// itemSizes are the dtypes read, and their sizes.
var itemSizes = map[string]int{"u1": 1, "i1": 1, "b1": 1, "u2": 2, "i2": 2, "u4": 4, "i4": 4, "u8": 8, "i8": 8, "f4": 4, "f8": 8}

// value is element i as a float64 (exact for every dtype read but 64-bit
// integers beyond 2^53, which no label is).
func (a *array) value(i int) float64 {
	switch size := itemSizes[a.dtype]; a.dtype {
	case "u1", "b1":
		return float64(a.data[i])
	case "i1":
		return float64(int8(a.data[i]))
	case "u2", "u4", "u8":
		return float64(uint(a.uint(i, size)))
	case "i2":
		return float64(int16(a.uint(i, size)))
	case "i4":
		return float64(int32(a.uint(i, size)))
	case "i8":
		return float64(int64(a.uint(i, size)))
	case "f4":
		return float64(math.Float32frombits(uint32(a.uint(i, size))))
	default: // f8
		return math.Float64frombits(a.uint(i, size))
	}
}

func (a *array) uint(i, size int) uint64 {
	b := a.data[i*size : (i+1)*size]
	switch size {
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// images reads an array of images, N x H x W or N x H x W x C, uint8 or
// float32, as bytes, and says how float32 was read. Float32 becomes bytes
// only where that is exact: in [0, 1] (no value above 1) each value must
// be a whole number of 255ths, k/255 as float32 division gives it (or
// float64 division rounded to float32); else each must be a whole number
// in [0, 255]. Anything else is refused at its first value, never
// rounded.
func (a *array) images() (augment.Geometry, []byte, string, error) {
	var g augment.Geometry
	switch len(a.shape) {
	case 3:
		g = augment.Geometry{Height: a.shape[1], Width: a.shape[2], Channels: 1}
	case 4:
		g = augment.Geometry{Height: a.shape[1], Width: a.shape[2], Channels: a.shape[3]}
	default:
		return g, nil, "", fmt.Errorf("%s: shape %v: want N x H x W or N x H x W x C images", a.name, a.shape)
	}
	if g.Height < 1 || g.Width < 1 || g.Channels < 1 || g.Height > MaxSide || g.Width > MaxSide || a.shape[0] > MaxImages {
		return g, nil, "", fmt.Errorf("%s: shape %v: want images of 1 to %d a side, at most %d of them", a.name, a.shape, MaxSide, MaxImages)
	}
	switch a.dtype {
	case "u1":
		return g, a.data, "", nil
	case "f4":
	default:
		return g, nil, "", fmt.Errorf("%s: dtype %s: want uint8 or float32 images", a.name, a.dtype)
	}
	n := len(a.data) / 4
	top := 0.0
	for i := range n {
		top = max(top, a.value(i))
	}
	out := make([]byte, n)
	unit := top <= 1
	for i := range n {
		v := float32(a.value(i))
		k := math.Round(float64(v))
		if unit {
			k = math.Round(float64(v) * 255)
		}
		exact := k >= 0 && k <= 255 && (float32(k) == v && !unit || unit && (float32(k)/255 == v || float32(k/255) == v))
		if !exact {
			what := "a whole number in [0, 255] (the values exceed 1, so they are taken for [0, 255])"
			if unit {
				what = "a whole number of 255ths, k/255 (no value exceeds 1, so they are taken for [0, 1])"
			}
			return g, nil, "", fmt.Errorf("%s: value %v of image %d is not %s: vkcnn holds images as bytes and does not round", a.name, v, i/g.Values(), what)
		}
		out[i] = byte(k)
	}
	if unit {
		return g, out, "float32 in [0, 1], exactly k/255", nil
	}
	return g, out, "float32 in [0, 255], whole numbers", nil
}

// labels reads integer labels, N, or one-hot ones, N x classes (any
// dtype, each row zeros and one 1): the labels, and the one-hot width (0
// for integers).
func (a *array) labels() ([]uint8, int, error) {
	switch len(a.shape) {
	case 1:
		out := make([]uint8, a.shape[0])
		for i := range out {
			v := a.value(i)
			if v != math.Trunc(v) || v < 0 || v >= maxClassNames {
				return nil, 0, fmt.Errorf("%s: label %v of sample %d is not a whole number in [0, %d]", a.name, v, i, maxClassNames-1)
			}
			out[i] = uint8(v)
		}
		return out, 0, nil
	case 2:
		n, classes := a.shape[0], a.shape[1]
		if classes < 1 || classes > maxClassNames {
			return nil, 0, fmt.Errorf("%s: shape %v: one-hot labels of 1 to %d classes", a.name, a.shape, maxClassNames)
		}
		out := make([]uint8, n)
		for i := range n {
			hot, ones, others := 0, 0, 0
			for c := range classes {
				switch a.value(i*classes + c) {
				case 1:
					hot, ones = c, ones+1
				case 0:
				default:
					others++
				}
			}
			if ones != 1 || others != 0 {
				return nil, 0, fmt.Errorf("%s: row %d is not one-hot (zeros and a single 1)", a.name, i)
			}
			out[i] = uint8(hot)
		}
		return out, classes, nil
	}
	return nil, 0, fmt.Errorf("%s: shape %v: want N integer labels or N x classes one-hot ones", a.name, a.shape)
}

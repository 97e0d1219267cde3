package dataset

import (
	"encoding/binary"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vkcnn/vkcnn/augment"
)

// IDX magic numbers: two zero bytes, the element type (0x08, unsigned byte)
// and the number of dimensions.
const (
	labelMagic = 0x00000801
	imageMagic = 0x00000803
)

// MaxImages bounds the count a header may declare. The largest MNIST-like
// set (MNIST8M) has 8.1 million images; anything above this is a damaged
// header, refused before it can make us read gigabytes.
const MaxImages = 10_000_000

// MaxSide bounds an image's height and width (the largest side a model
// takes), which keeps a header's sizes from overflowing.
const MaxSide = 1 << 16

// ReadImages reads an IDX image file, raw or gzip (told apart by the gzip
// magic bytes, not by the name), and returns its n images, row-major, one
// byte per pixel, and their size (one channel). name only labels the
// errors.
func ReadImages(name string, r io.Reader) ([]byte, augment.Geometry, int, error) {
	var g augment.Geometry
	s, err := newSource(name, r)
	if err != nil {
		return nil, g, 0, err
	}
	var h [16]byte
	if err := s.header(h[:], imageMagic, "images"); err != nil {
		return nil, g, 0, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	rows, cols := binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	if rows == 0 || cols == 0 || rows > MaxSide || cols > MaxSide {
		return nil, g, 0, s.errorf("images are %dx%d; each side must lie in 1..%d", rows, cols, MaxSide)
	}
	if n > MaxImages {
		return nil, g, 0, s.errorf("header declares %d images, more than the %d allowed", n, MaxImages)
	}
	g = augment.Geometry{Width: int(cols), Height: int(rows), Channels: 1}
	images, err := s.payload(int64(n)*int64(g.Values()), n, "images")
	if err != nil {
		return nil, g, 0, err
	}
	return images, g, int(n), nil
}

// ReadLabels reads an IDX label file, raw or gzip. name only labels the
// errors.
func ReadLabels(name string, r io.Reader) ([]uint8, error) {
	s, err := newSource(name, r)
	if err != nil {
		return nil, err
	}
	var h [8]byte
	if err := s.header(h[:], labelMagic, "labels"); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > MaxImages {
		return nil, s.errorf("header declares %d labels, more than the %d allowed", n, MaxImages)
	}
	return s.payload(int64(n), n, "labels")
}

// header reads len(h) header bytes and checks that they begin with magic.
func (s *source) header(h []byte, magic uint32, what string) error {
	n, err := io.ReadFull(s, h)
	switch {
	case n == 0 && err == io.EOF:
		if s.gz {
			return s.errorf("empty after gunzip")
		}
		return s.errorf("empty file")
	case err == io.ErrUnexpectedEOF:
		return s.errorf("truncated header (%d of %d bytes)", n, len(h))
	case err != nil:
		return err
	}
	if m := binary.BigEndian.Uint32(h); m != magic {
		return s.errorf("magic number 0x%08x, want 0x%08x for IDX %s", m, magic, what)
	}
	return nil
}

// idxName matches the files of an IDX data set: MNIST, Fashion-MNIST and
// KMNIST name them train-images-idx3-ubyte, t10k-labels-idx1-ubyte and so
// on; EMNIST prefixes emnist-SPLIT- and says test for t10k.
var idxName = regexp.MustCompile(`^(.*?)(train|t10k|test)-(images-idx3|labels-idx1)-ubyte(\.gz)?$`)

// emnistPrefix begins the names of EMNIST's files, whose images are
// stored transposed.
const emnistPrefix = "emnist-"

// idxFiles are the four files of an IDX data set in dir, by role, and
// EMNIST's class list, its mapping file, where there is one.
type idxFiles struct {
	dir, prefix string
	names       [4]string
	mapping     string
}

// idxRoles are the files' roles, in the order idxFiles holds them.
var idxRoles = [4]string{"training images", "training labels", "test images", "test labels"}

// findIDX finds the IDX files among the names of the files in dir: nil
// where there are none. A file may be raw or gzip (the raw one is read
// where both are there).
func findIDX(dir string, names []string) (*idxFiles, error) {
	var sets []*idxFiles
	for _, name := range names {
		m := idxName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		i := slices.IndexFunc(sets, func(f *idxFiles) bool { return f.prefix == m[1] })
		if i < 0 {
			i = len(sets)
			sets = append(sets, &idxFiles{dir: dir, prefix: m[1]})
		}
		f, role := sets[i], 0
		if m[2] != "train" {
			role = 2
		}
		if m[3] == "labels-idx1" {
			role++
		}
		switch old := f.names[role]; {
		case old == "" || name+".gz" == old:
			f.names[role] = name
		case old+".gz" != name:
			return nil, fmt.Errorf("%s: both %s and %s are %s", dir, old, name, idxRoles[role])
		}
	}
	switch {
	case len(sets) == 0:
		return nil, nil
	case len(sets) > 1:
		var firsts []string
		for _, f := range sets {
			firsts = append(firsts, slices.MinFunc(f.found(), strings.Compare))
		}
		return nil, fmt.Errorf("%s holds the IDX files of %d data sets (%s, ...): give a folder with one", dir, len(sets), strings.Join(firsts, ", "))
	}
	f := sets[0]
	for role, name := range f.names {
		if name == "" {
			return nil, fmt.Errorf("%w in %s: it has %s but no %s (%s, raw or .gz)", ErrNoData, dir, strings.Join(f.found(), ", "), idxRoles[role], f.expected(role))
		}
	}
	if mapping := f.prefix + "mapping.txt"; strings.HasPrefix(f.prefix, emnistPrefix) && slices.Contains(names, mapping) {
		f.mapping = mapping
	}
	return f, nil
}

// found are the names of the files found so far.
func (f *idxFiles) found() []string {
	var out []string
	for _, name := range f.names {
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}

// expected is the name a role's file would have.
func (f *idxFiles) expected(role int) string {
	split := "train"
	if role >= 2 {
		split = "t10k"
		if strings.HasPrefix(f.prefix, emnistPrefix) {
			split = "test"
		}
	}
	kind := "images-idx3"
	if role%2 == 1 {
		kind = "labels-idx1"
	}
	return f.prefix + split + "-" + kind + "-ubyte"
}

// load reads the four files, and EMNIST's class names; EMNIST's images
// are turned upright.
func (f *idxFiles) load() (*Dataset, error) {
	d := &Dataset{Dir: f.dir, Format: "IDX"}
	if f.mapping != "" {
		path := filepath.Join(f.dir, f.mapping)
		err := readFile(path, func(r io.Reader) (err error) {
			d.Names, err = ReadMapping(path, r)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	train, g, err := f.loadSet(0)
	if err != nil {
		return nil, err
	}
	test, testG, err := f.loadSet(2)
	if err != nil {
		return nil, err
	}
	if testG != g {
		return nil, fmt.Errorf("%s: images are %s, the training images (%s) %s", f.path(2), testG, f.names[0], g)
	}
	d.Train, d.Test, d.Geometry = train, test, g
	for role, set := range map[int]*Set{1: train, 3: test} {
		if err := d.checkLabels(f.path(role), set.Labels, f.mapping); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(f.prefix, emnistPrefix) {
		d.Format, d.Transposed = "EMNIST IDX", true
		transpose(train.Images, g)
		transpose(test.Images, g)
		d.Geometry.Width, d.Geometry.Height = g.Height, g.Width
	}
	d.countClasses()
	return d, nil
}

// ReadMapping reads EMNIST's class list, a line a class: its label and
// the character codes of its name ("1 65 97": class 1 is "Aa"). Labels
// the list leaves out have no name (""). name only labels the errors.
func ReadMapping(name string, r io.Reader) ([]string, error) {
	lines, err := readLines(name, r)
	if err != nil {
		return nil, err
	}
	var names []string
	for i, line := range lines {
		fields := strings.Fields(line)
		label, err := strconv.Atoi(fields[0])
		if err != nil || label < 0 || label >= maxClassNames || len(fields) < 2 {
			return nil, fmt.Errorf("%s: line %d: want a label 0..%d and character codes", name, i+1, maxClassNames-1)
		}
		var class []rune
		for _, code := range fields[1:] {
			c, err := strconv.Atoi(code)
			if err != nil || !utf8.ValidRune(rune(c)) {
				return nil, fmt.Errorf("%s: line %d: %q is not a character code", name, i+1, code)
			}
			class = append(class, rune(c))
		}
		if label >= len(names) {
			names = append(names, make([]string, label+1-len(names))...)
		}
		names[label] = string(class)
	}
	return names, nil
}

func (f *idxFiles) path(role int) string { return filepath.Join(f.dir, f.names[role]) }

// loadSet reads the images of role and the labels that follow it.
func (f *idxFiles) loadSet(role int) (*Set, augment.Geometry, error) {
	imagesPath, labelsPath := f.path(role), f.path(role+1)
	var images, labels []byte
	var g augment.Geometry
	var n int
	err := readFile(imagesPath, func(r io.Reader) (err error) {
		images, g, n, err = ReadImages(imagesPath, r)
		return err
	})
	if err != nil {
		return nil, g, err
	}
	if n == 0 {
		return nil, g, fmt.Errorf("%s: no images", imagesPath)
	}
	err = readFile(labelsPath, func(r io.Reader) (err error) {
		labels, err = ReadLabels(labelsPath, r)
		return err
	})
	if err != nil {
		return nil, g, err
	}
	if len(labels) != n {
		return nil, g, fmt.Errorf("%s: %d labels for the %d images of %s", labelsPath, len(labels), n, f.names[role])
	}
	return &Set{Images: images, Labels: labels, N: n}, g, nil
}

// transpose turns each one-channel image of g, stored column by column,
// into rows: g's columns become the rows.
func transpose(images []byte, g augment.Geometry) {
	img := make([]byte, g.Values())
	for off := 0; off < len(images); off += len(img) {
		copy(img, images[off:])
		for y := range g.Height {
			for x := range g.Width {
				images[off+x*g.Height+y] = img[y*g.Width+x]
			}
		}
	}
}

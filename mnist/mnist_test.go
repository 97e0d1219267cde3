package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idx builds an IDX file: magic, the dimensions as big-endian uint32s, then
// the payload.
func idx(magic uint32, dims []uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// pixels returns n images whose pixel i holds byte(i*7+1): distinct enough to
// catch a misplaced offset.
func pixels(n int) []byte {
	p := make([]byte, n*Pixels)
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return p
}

func imageFile(n int) []byte { return idx(imageMagic, []uint32{uint32(n), Rows, Cols}, pixels(n)) }

func labelFile(labels ...uint8) []byte {
	return idx(labelMagic, []uint32{uint32(len(labels))}, labels)
}

func TestReadImages(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"raw", imageFile(3)},
		{"gzip", gz(imageFile(3))},
	} {
		t.Run(c.name, func(t *testing.T) {
			images, n, err := ReadImages("f", bytes.NewReader(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 || !bytes.Equal(images, pixels(3)) {
				t.Fatalf("got %d images %v..., want 3 images %v...", n, images[:8], pixels(3)[:8])
			}
		})
	}
}

func TestReadLabels(t *testing.T) {
	want := []uint8{0, 9, 4, 1}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"raw", labelFile(want...)},
		{"gzip", gz(labelFile(want...))},
	} {
		t.Run(c.name, func(t *testing.T) {
			labels, err := ReadLabels("f", bytes.NewReader(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(labels, want) {
				t.Fatalf("got %v, want %v", labels, want)
			}
		})
	}
}

// corruptGzip flips a bit of the CRC-32 in the gzip trailer.
func corruptGzip(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-8] ^= 1
	return b
}

func TestReadImagesErrors(t *testing.T) {
	good := imageFile(2)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "x: empty file"},
		{"empty gzip", gz(nil), "x: empty after gunzip"},
		{"truncated header", good[:10], "x: truncated header (10 of 16 bytes)"},
		{"wrong magic", idx(labelMagic, []uint32{2, Rows, Cols}, pixels(2)), "x: magic number 0x00000801, want 0x00000803 for IDX images"},
		{"wrong size", idx(imageMagic, []uint32{2, 28, 27}, make([]byte, 2*28*27)), "x: images are 28x27, want 28x28"},
		{"truncated payload", good[:100], "x: truncated: header declares 2 images (1568 bytes), but only 84 bytes follow"},
		{"trailing bytes", append(bytes.Clone(good), 0, 0, 0), "x: 3 trailing bytes after the 2 images the header declares"},
		{"absurd count", idx(imageMagic, []uint32{1 << 31, Rows, Cols}, nil), "x: header declares 2147483648 images, more than the 10000000 allowed"},
		{"lying count", idx(imageMagic, []uint32{MaxImages, Rows, Cols}, nil), "x: truncated: header declares 10000000 images (7840000000 bytes), but only 0 bytes follow"},
		{"truncated gzip", gz(good)[:40], "x: truncated gzip stream: unexpected EOF"},
		{"corrupt gzip", corruptGzip(gz(good)), "x: corrupt gzip stream: gzip: invalid checksum"},
		{"truncated gzip header", []byte{0x1f, 0x8b, 8, 0}, "x: truncated gzip stream"},
		{"corrupt gzip header", []byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0}, "x: corrupt gzip stream: gzip: invalid header"},
		{"gzip with trailing garbage", append(gz(good), "not gzip at all"...), "x: corrupt gzip stream: gzip: invalid header"},
		{"truncated payload in gzip", gz(good[:100]), "x: truncated: header declares 2 images"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadImages("x", bytes.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestReadLabelsErrors(t *testing.T) {
	good := labelFile(1, 2, 3)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "y: empty file"},
		{"truncated header", good[:7], "y: truncated header (7 of 8 bytes)"},
		{"wrong magic", imageFile(1), "y: magic number 0x00000803, want 0x00000801 for IDX labels"},
		{"truncated payload", good[:10], "y: truncated: header declares 3 labels (3 bytes), but only 2 bytes follow"},
		{"trailing bytes", append(bytes.Clone(good), 7), "y: 1 trailing bytes after the 3 labels the header declares"},
		{"label 10", labelFile(3, 10, 4), "y: label 10 at index 1 is not a digit 0..9"},
		{"label 10 in gzip", gz(labelFile(3, 4, 10)), "y: label 10 at index 2 is not a digit 0..9"},
		{"absurd count", idx(labelMagic, []uint32{0xffffffff}, nil), "y: header declares 4294967295 labels, more than the 10000000 allowed"},
		{"truncated gzip", gz(good)[:len(gz(good))-4], "y: truncated gzip stream"},
		{"corrupt gzip", corruptGzip(gz(good)), "y: corrupt gzip stream"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadLabels("y", bytes.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// writeSet writes the four standard files into a new temporary folder: the
// training pair raw, the test pair gzip, as a real folder might mix them.
func writeSet(t *testing.T, trainImg, trainLab, testImg, testLab []byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		trainImages:        trainImg,
		trainLabels:        trainLab,
		testImages + ".gz": gz(testImg),
		testLabels + ".gz": gz(testLab),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := writeSet(t, imageFile(3), labelFile(5, 0, 4), imageFile(2), labelFile(7, 2))
	train, test, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 3 || !bytes.Equal(train.Images, pixels(3)) || !bytes.Equal(train.Labels, []uint8{5, 0, 4}) {
		t.Errorf("train: got %d images, labels %v", train.N, train.Labels)
	}
	if test.N != 2 || !bytes.Equal(test.Images, pixels(2)) || !bytes.Equal(test.Labels, []uint8{7, 2}) {
		t.Errorf("test: got %d images, labels %v", test.N, test.Labels)
	}
}

func TestLoadCountMismatch(t *testing.T) {
	dir := writeSet(t, imageFile(3), labelFile(5, 0), imageFile(2), labelFile(7, 2))
	_, _, err := Load(dir)
	want := "train-labels-idx1-ubyte: 2 labels for 3 images"
	if err == nil || err.Error() != want {
		t.Fatalf("got error %v, want %q", err, want)
	}
}

func TestLoadBadFileNamesIt(t *testing.T) {
	dir := writeSet(t, imageFile(3), labelFile(5, 0, 4), imageFile(2), labelFile(7, 2))
	if err := os.WriteFile(filepath.Join(dir, testImages+".gz"), gz(imageFile(2))[:30], 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(dir)
	want := "t10k-images-idx3-ubyte.gz: truncated gzip stream"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got error %v, want one starting %q", err, want)
	}
}

func TestLoadNoData(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Load(dir)
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("got error %v, want ErrNoData", err)
	}
	want := "no MNIST data in " + dir + " (missing train-images-idx3-ubyte.gz): run ./build.sh data, or pass --data DIR / set VKCNN_DATA to a folder holding the four MNIST files"
	if err.Error() != want {
		t.Fatalf("got %q,\nwant %q", err, want)
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
	train, test, err := Load(dir)
	if errors.Is(err, ErrNoData) {
		t.Skipf("no MNIST in %s (./build.sh data fetches it)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 {
		t.Fatalf("got %d training and %d test images, want 60000 and 10000", train.N, test.N)
	}
	// The first training digit is a 5, the first test digit a 7.
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels: train %d, test %d; want 5 and 7", train.Labels[0], test.Labels[0])
	}
}

package dataset

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

var (
	idx = datatest.IDX
	gz  = datatest.Gzip
)

// odd is the size of the test images: not square, so that a swap of
// height and width shows.
var odd = augment.Geometry{Width: 5, Height: 3, Channels: 1}

// pixels returns n images of odd whose value i holds byte(i*7+1): distinct
// enough to catch a misplaced offset.
func pixels(n int) []byte {
	p := make([]byte, n*odd.Values())
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return p
}

func imageFile(n int) []byte { return datatest.IDXImages(odd, n, pixels(n)) }

func labelFile(labels ...uint8) []byte { return datatest.IDXLabels(labels) }

func TestReadImages(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"raw", imageFile(3)},
		{"gzip", gz(imageFile(3))},
	} {
		t.Run(c.name, func(t *testing.T) {
			images, g, n, err := ReadImages("f", bytes.NewReader(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 || g != odd || !bytes.Equal(images, pixels(3)) {
				t.Fatalf("got %d images of %v %v..., want 3 images of %v %v...", n, g, images[:8], odd, pixels(3)[:8])
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
		{"wrong magic", idx(labelMagic, []int{2, 3, 5}, pixels(2)), "x: magic number 0x00000801, want 0x00000803 for IDX images"},
		{"no rows", idx(imageMagic, []int{2, 0, 5}, nil), "x: images are 0x5; each side must lie in 1..65536"},
		{"too wide", idx(imageMagic, []int{2, 3, 1<<16 + 1}, nil), "x: images are 3x65537; each side must lie in 1..65536"},
		{"truncated payload", good[:26], "x: truncated: header declares 2 images (30 bytes), but only 10 bytes follow"},
		{"trailing bytes", append(bytes.Clone(good), 0, 0, 0), "x: 3 trailing bytes after the 2 images the header declares"},
		{"absurd count", idx(imageMagic, []int{1 << 31, 3, 5}, nil), "x: header declares 2147483648 images, more than the 10000000 allowed"},
		{"lying count", idx(imageMagic, []int{MaxImages, 1 << 16, 1 << 16}, nil), "x: truncated: header declares 10000000 images (42949672960000000 bytes), but only 0 bytes follow"},
		{"truncated gzip", gz(good)[:30], "x: truncated gzip stream: unexpected EOF"},
		{"corrupt gzip", corruptGzip(gz(good)), "x: corrupt gzip stream: gzip: invalid checksum"},
		{"truncated gzip header", []byte{0x1f, 0x8b, 8, 0}, "x: truncated gzip stream"},
		{"corrupt gzip header", []byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0}, "x: corrupt gzip stream: gzip: invalid header"},
		{"gzip with trailing garbage", append(gz(good), "not gzip at all"...), "x: corrupt gzip stream: gzip: invalid header"},
		{"truncated payload in gzip", gz(good[:30]), "x: truncated: header declares 2 images"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := ReadImages("x", bytes.NewReader(c.data))
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
		{"absurd count", idx(labelMagic, []int{0xffffffff}, nil), "y: header declares 4294967295 labels, more than the 10000000 allowed"},
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

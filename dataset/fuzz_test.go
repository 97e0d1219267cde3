package dataset

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/datatest"
)

// The parsers must turn any input into images or an error naming the file:
// never a panic, never a result that disagrees with itself.

func FuzzReadImages(f *testing.F) {
	good := imageFile(1)
	for _, seed := range [][]byte{good, gz(good), good[:16], good[:20], gz(good)[:30], imageFile(0)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		images, g, n, err := ReadImages("fuzz", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if n < 0 || n > MaxImages || g.Channels != 1 || g.Width < 1 || g.Height < 1 || g.Width > MaxSide || g.Height > MaxSide ||
			len(images) != n*g.Values() {
			t.Fatalf("%d images of %v in %d bytes", n, g, len(images))
		}
	})
}

func FuzzReadLabels(f *testing.F) {
	good := labelFile(0, 9, 4)
	for _, seed := range [][]byte{good, gz(good), good[:8], labelFile(10), gz(good)[:20], labelFile()} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		labels, err := ReadLabels("fuzz", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(data) < 8+len(labels) {
			t.Fatalf("%d labels from %d bytes", len(labels), len(data))
		}
	})
}

// FuzzReadCIFAR reads records of an odd size, 3x2x3 (19 bytes a record).
func FuzzReadCIFAR(f *testing.F) {
	g := augment.Geometry{Width: 2, Height: 3, Channels: 3}
	good := datatest.CIFAR(g, make([]byte, 2*g.Values()), []uint8{7, 200})
	for _, seed := range [][]byte{good, gz(good), good[:20], nil, gz(good)[:10]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		images, labels, err := ReadCIFAR("fuzz", bytes.NewReader(data), g)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(labels) == 0 || len(images) != len(labels)*g.Values() {
			t.Fatalf("%d labels, %d image bytes", len(labels), len(images))
		}
	})
}

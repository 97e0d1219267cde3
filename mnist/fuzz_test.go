package mnist

import (
	"bytes"
	"strings"
	"testing"
)

// The parsers must turn any input into images or an error naming the file:
// never a panic, never a result that disagrees with itself.

func FuzzReadImages(f *testing.F) {
	good := imageFile(1)
	for _, seed := range [][]byte{good, gz(good), good[:16], good[:100], gz(good)[:30], imageFile(0)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		images, n, err := ReadImages("fuzz", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if n < 0 || n > MaxImages || len(images) != n*Pixels {
			t.Fatalf("%d images in %d bytes", n, len(images))
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
		for i, l := range labels {
			if l > 9 {
				t.Fatalf("label %d at index %d", l, i)
			}
		}
	})
}

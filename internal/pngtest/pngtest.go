// Package pngtest reads the PNG files tests make.
package pngtest

import (
	"image"
	"image/png"
	"os"
	"testing"
)

// Decode reads path as a PNG of w x h pixels, failing the test otherwise.
func Decode(t testing.TB, path string, w, h int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, w, h) {
		t.Fatalf("%s is %v, want %dx%d", path, b, w, h)
	}
	return img
}

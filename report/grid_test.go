package report

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/pngtest"
)

// digits is MNIST's geometry, whose images the grid draws 3x.
var digits = augment.Geometry{Width: 28, Height: 28, Channels: 1}

func filled(v float32) []float32 {
	im := make([]float32, digits.Values())
	for i := range im {
		im[i] = v
	}
	return im
}

// sub is the part r of img.
func sub(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

func TestImageGrid(t *testing.T) {
	gray := filled(0)
	gray[27] = 0.5 // top-right pixel
	images := [][]float32{filled(1), filled(0), gray, filled(2), filled(-1)}
	labels := []string{"7", "true 3 pred 5", "", "x", "y"}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := ImageGrid(path, digits, images, labels); err != nil {
		t.Fatal(err)
	}
	// 5 images: 3 columns, 2 rows.
	w, h := gap+3*(cellSide+gap), gap+2*(cellSide+labelBand+gap)
	img := pngtest.Decode(t, path, w, h)
	cell := func(i int) image.Point {
		return image.Pt(gap+i%3*(cellSide+gap), gap+i/3*(cellSide+labelBand+gap))
	}
	at := func(p image.Point) color.RGBA {
		r, g, b, a := img.At(p.X, p.Y).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
	}
	white, black := color.RGBA{255, 255, 255, 255}, color.RGBA{0, 0, 0, 255}
	for _, tc := range []struct {
		name string
		p    image.Point
		want color.RGBA
	}{
		{"white image, corner", cell(0), white},
		{"white image, far corner", cell(0).Add(image.Pt(cellSide-1, cellSide-1)), white},
		{"black image", cell(1).Add(image.Pt(40, 40)), black},
		{"half pixel, 3x3 block", cell(2).Add(image.Pt(81, 2)), color.RGBA{128, 128, 128, 255}},
		{"left of half pixel", cell(2).Add(image.Pt(80, 2)), black},
		{"below half pixel", cell(2).Add(image.Pt(81, 3)), black},
		{"clamped above 1", cell(3).Add(image.Pt(10, 10)), white},
		{"clamped below 0", cell(4).Add(image.Pt(10, 10)), black},
		{"gap", image.Pt(1, 1), gridBackground},
		{"under last cell", cell(5).Add(image.Pt(10, 10)), gridBackground},
	} {
		if got := at(tc.p); got != tc.want {
			t.Errorf("%s at %v: %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	// Each label is drawn in its band, within its cell's width; an empty
	// label draws nothing.
	for i, l := range labels {
		band := image.Rectangle{Min: cell(i).Add(image.Pt(0, cellSide)), Max: cell(i).Add(image.Pt(cellSide, cellSide+labelBand))}
		lit := count(sub(img, band), labelColour)
		if (lit > 0) != (l != "") {
			t.Errorf("label %d %q: %d pixels in the label colour", i, l, lit)
		}
		right := image.Rectangle{Min: band.Min.Add(image.Pt(cellSide, 0)), Max: band.Max.Add(image.Pt(gap, 0))}
		if n := count(sub(img, right), labelColour); n != 0 {
			t.Errorf("label %d %q spills into the gap (%d pixels)", i, l, n)
		}
	}
}

// TestImageGridColour draws RGB images taller than wide: 12x20 scaled 4x
// to 48x80, centred in cells 84 wide (for the labels).
func TestImageGridColour(t *testing.T) {
	g := augment.Geometry{Width: 12, Height: 20, Channels: 3}
	im := make([]float32, g.Values())
	im[11*3] = 1         // the top-right pixel red
	im[(19*12)*3+2] = 1  // the bottom-left blue
	im[(19*12+11)*3] = 1 // the bottom-right yellow
	im[(19*12+11)*3+1] = 1
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := ImageGrid(path, g, [][]float32{im, im}, []string{"airplane", "automobile"}); err != nil {
		t.Fatal(err)
	}
	img := pngtest.Decode(t, path, gap+2*(84+gap), gap+80+labelBand+gap)
	second := image.Pt(gap+84+gap, gap)
	black, red, blue, yellow := color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{255, 255, 0, 255}
	for _, tc := range []struct {
		name string
		p    image.Point
		want color.RGBA
	}{
		{"left of the image", image.Pt(gap+17, gap), gridBackground},
		{"top-left", image.Pt(gap+18, gap), black},
		{"top-right", image.Pt(gap+18+44, gap+3), red},
		{"top-right's left", image.Pt(gap+18+43, gap), black},
		{"right of the image", image.Pt(gap+18+48, gap), gridBackground},
		{"bottom-left", image.Pt(gap+18, gap+76), blue},
		{"bottom-right of the second", second.Add(image.Pt(18+47, 79)), yellow},
		{"below the image, above the label", image.Pt(gap+18, gap+80+1), gridBackground},
	} {
		r, gr, b, a := img.At(tc.p.X, tc.p.Y).RGBA()
		if got := (color.RGBA{uint8(r >> 8), uint8(gr >> 8), uint8(b >> 8), uint8(a >> 8)}); got != tc.want {
			t.Errorf("%s at %v: %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	if n := count(sub(img, image.Rect(gap, gap+80, gap+84, gap+80+labelBand)), labelColour); n == 0 {
		t.Error("no label under the first image")
	}
}

func TestImageGridErrors(t *testing.T) {
	dir := t.TempDir()
	many := make([][]float32, 101)
	for i := range many {
		many[i] = filled(0)
	}
	nan := filled(0)
	nan[5] = float32(math.NaN())
	for _, tc := range []struct {
		name   string
		images [][]float32
		labels []string
		want   string
	}{
		{"none", nil, nil, "no images"},
		{"too many", many, make([]string, 101), "101 images, at most 100"},
		{"labels mismatch", [][]float32{filled(0), filled(0)}, []string{"1"}, "1 labels for 2 images"},
		{"wrong size", [][]float32{filled(0), make([]float32, 27*28)}, []string{"1", "2"}, "image 1 has 756 values, want 784 (28x28x1)"},
		{"NaN", [][]float32{nan}, []string{"1"}, "image 0: value 5 is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "grid.png")
			err := ImageGrid(path, digits, tc.images, tc.labels)
			if err == nil || !strings.HasPrefix(err.Error(), "image grid "+path+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name the file and contain %q", err, tc.want)
			}
		})
	}
}

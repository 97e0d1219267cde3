package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"vkcnn/internal/atomicfile"
)

// DigitGrid geometry, in pixels.
const (
	digitSide  = 28 // MNIST images are 28x28
	digitScale = 3  // each pixel drawn as 3x3
	cellSide   = digitSide * digitScale
	labelBand  = 16 // under each digit, for one line of 7x13 text
	gap        = 6  // between cells and around the grid
)

// MaxDigits is the most digits DigitGrid draws: a 10x10 grid; more would
// be unreadable.
const MaxDigits = 100

var (
	gridBackground = color.RGBA{0x30, 0x30, 0x30, 0xff}
	labelColour    = color.RGBA{0xff, 0xd7, 0x40, 0xff} // amber reads well on dark grey
)

// DigitGrid writes a PNG of images (28x28 each, row-major, 0 black to 1
// white; values outside are clamped, NaN is an error), ceil(sqrt(n)) per
// row, each scaled 3x with its label under it. It takes 1 to 100 images.
func DigitGrid(path string, images [][]float32, labels []string) error {
	img, err := digitGrid(images, labels)
	if err == nil {
		err = atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
	}
	if err != nil {
		return fmt.Errorf("digit grid %s: %w", path, err)
	}
	return nil
}

func digitGrid(images [][]float32, labels []string) (*image.RGBA, error) {
	n := len(images)
	switch {
	case n == 0:
		return nil, errors.New("no images")
	case n > MaxDigits:
		return nil, fmt.Errorf("%d images, at most %d", n, MaxDigits)
	case len(labels) != n:
		return nil, fmt.Errorf("%d labels for %d images", len(labels), n)
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	cellW, cellH := cellSide+gap, cellSide+labelBand+gap
	img := image.NewRGBA(image.Rect(0, 0, gap+cols*cellW, gap+rows*cellH))
	draw.Draw(img, img.Bounds(), image.NewUniform(gridBackground), image.Point{}, draw.Src)
	for i, pixels := range images {
		if len(pixels) != digitSide*digitSide {
			return nil, fmt.Errorf("image %d has %d pixels, want %d", i, len(pixels), digitSide*digitSide)
		}
		x0, y0 := gap+i%cols*cellW, gap+i/cols*cellH
		for j, v := range pixels {
			if math.IsNaN(float64(v)) {
				return nil, fmt.Errorf("image %d: pixel %d is NaN", i, j)
			}
			g := uint8(math.Round(255 * math.Min(1, math.Max(0, float64(v)))))
			x, y := x0+j%digitSide*digitScale, y0+j/digitSide*digitScale
			for k := range digitScale * digitScale {
				img.SetRGBA(x+k%digitScale, y+k/digitScale, color.RGBA{g, g, g, 0xff})
			}
		}
		band := image.Rect(x0, y0+cellSide, x0+cellSide, y0+cellSide+labelBand)
		drawLabel(img.SubImage(band).(*image.RGBA), labels[i])
	}
	return img, nil
}

// drawLabel writes s centred in dst, a sub-image that clips a label too wide
// for its cell instead of letting it run into the next one.
func drawLabel(dst *image.RGBA, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(labelColour), Face: basicfont.Face7x13}
	b, m := dst.Bounds(), d.Face.Metrics()
	x := b.Min.X + max(0, (b.Dx()-d.MeasureString(s).Round())/2)
	y := b.Min.Y + (b.Dy()-m.Height.Round())/2 + m.Ascent.Round() // baseline
	d.Dot = fixed.P(x, y)
	d.DrawString(s)
}

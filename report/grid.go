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

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// ImageGrid's layout, in pixels.
const (
	cellSide  = 84 // an image's longer side is drawn this long, or as near as whole pixels come
	labelBand = 16 // under each image, for one line of 7x13 text
	gap       = 6  // between cells and around the grid
)

// MaxGridImages is the most images ImageGrid draws: a 10x10 grid; more
// would be unreadable.
const MaxGridImages = 100

var (
	gridBackground = color.RGBA{0x30, 0x30, 0x30, 0xff}
	labelColour    = color.RGBA{0xff, 0xd7, 0x40, 0xff} // amber reads well on dark grey
)

// ImageGrid writes a PNG of images of g (HWC, one channel grey or three
// RGB, 0 dark to 1 light; values outside are clamped, NaN is an error),
// ceil(sqrt(n)) per row, each scaled up by a whole factor to about 84
// pixels on its longer side, with its label under it. It takes 1 to 100
// images.
func ImageGrid(path string, g augment.Geometry, images [][]float32, labels []string) error {
	img, err := imageGrid(g, images, labels)
	if err == nil {
		err = atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
	}
	if err != nil {
		return fmt.Errorf("image grid %s: %w", path, err)
	}
	return nil
}

// gridCell is where an image of g goes in its cell: scaled by scale, at
// x within the cell, which is w wide (at least cellSide, for the label)
// and h high above the label.
type gridCell struct {
	scale, x, w, h int
}

func cellOf(g augment.Geometry) gridCell {
	scale := max(1, cellSide/max(g.Width, g.Height))
	w := max(cellSide, g.Width*scale)
	return gridCell{scale: scale, x: (w - g.Width*scale) / 2, w: w, h: g.Height * scale}
}

func imageGrid(g augment.Geometry, images [][]float32, labels []string) (*image.RGBA, error) {
	n := len(images)
	switch {
	case g.Channels != 1 && g.Channels != 3:
		return nil, fmt.Errorf("images of %d channels: want 1 (grey) or 3 (RGB)", g.Channels)
	case n == 0:
		return nil, errors.New("no images")
	case n > MaxGridImages:
		return nil, fmt.Errorf("%d images, at most %d", n, MaxGridImages)
	case len(labels) != n:
		return nil, fmt.Errorf("%d labels for %d images", len(labels), n)
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	c := cellOf(g)
	pitchX, pitchY := c.w+gap, c.h+labelBand+gap
	img := image.NewRGBA(image.Rect(0, 0, gap+cols*pitchX, gap+rows*pitchY))
	draw.Draw(img, img.Bounds(), image.NewUniform(gridBackground), image.Point{}, draw.Src)
	for i, values := range images {
		if len(values) != g.Values() {
			return nil, fmt.Errorf("image %d has %d values, want %d (%v)", i, len(values), g.Values(), g)
		}
		x0, y0 := gap+i%cols*pitchX, gap+i/cols*pitchY
		var rgb [3]uint8
		for p := range g.Width * g.Height {
			for k := range rgb {
				v := float64(values[p*g.Channels+min(k, g.Channels-1)])
				if math.IsNaN(v) {
					return nil, fmt.Errorf("image %d: value %d is NaN", i, p*g.Channels+min(k, g.Channels-1))
				}
				rgb[k] = uint8(math.Round(255 * math.Min(1, math.Max(0, v))))
			}
			x, y := x0+c.x+p%g.Width*c.scale, y0+p/g.Width*c.scale
			for k := range c.scale * c.scale {
				img.SetRGBA(x+k%c.scale, y+k/c.scale, color.RGBA{rgb[0], rgb[1], rgb[2], 0xff})
			}
		}
		band := image.Rect(x0, y0+c.h, x0+c.w, y0+c.h+labelBand)
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

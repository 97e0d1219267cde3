package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Size of accuracy.png, in pixels.
const AccuracyWidth, AccuracyHeight = 640, 480

// palette is matplotlib's default colour cycle, so the figures look like
// the Keras ones they are compared with.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

// AccuracyPlot writes a 640x480 PNG of training and validation accuracy per
// epoch, like Keras' "model accuracy" figure.
func AccuracyPlot(path, title string, epochs []Epoch) error {
	p := newPlot(title)
	for i, s := range []struct {
		name string
		acc  func(Epoch) float64
	}{
		{"train", func(e Epoch) float64 { return e.Acc }},
		{"validation", func(e Epoch) float64 { return e.ValAcc }},
	} {
		if err := addLine(p, s.name, epochs, s.acc, palette[i], nil); err != nil {
			return fmt.Errorf("accuracy plot %s: %w", path, err)
		}
	}
	if err := savePNG(path, p, AccuracyWidth, AccuracyHeight); err != nil {
		return fmt.Errorf("accuracy plot %s: %w", path, err)
	}
	return nil
}

func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "accuracy"
	p.X.Tick.Marker = epochTicks{}
	p.Add(plotter.NewGrid())
	// Accuracy rises, so the lower right is where the curves are not.
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	return p
}

// epochTicks labels whole epochs only, at most about ten of them, where the
// default ticker would label fractions or odd steps like 2, 8, 14.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for i := 0; (hi-lo)/step > 10; i++ {
		step *= []float64{2, 2.5, 2}[i%3] // 1, 2, 5, 10, 20, 50, ...
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step) * step
	// Counted rather than stepped to hi: at huge epoch numbers v+step == v.
	for i := range int(math.Floor((hi-first)/step)) + 1 {
		v := first + float64(i)*step
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}

// addLine adds y(epoch) against the epoch number as a line with points
// (a lone epoch still shows), in colour c, dashed if dashes is not nil.
func addLine(p *plot.Plot, name string, epochs []Epoch, y func(Epoch) float64, c color.Color, dashes []vg.Length) error {
	if len(epochs) == 0 {
		return errors.New("no epochs")
	}
	xys := make(plotter.XYs, len(epochs))
	for i, e := range epochs {
		xys[i] = plotter.XY{X: float64(e.Epoch), Y: y(e)}
		// Accuracy is a fraction; anything else (NaN, or a range so wide it
		// overflows) would break gonum's axis ticks, which then never return.
		if v := xys[i].Y; !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s accuracy at epoch %d is %v, not in [0, 1]", name, e.Epoch, v)
		}
	}
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	line.Color, line.Width, line.Dashes = c, vg.Points(1.5), dashes
	points.Color, points.Shape, points.Radius = c, draw.CircleGlyph{}, vg.Points(2)
	p.Add(line, points)
	p.Legend.Add(name, line)
	return nil
}

// savePNG draws p on a canvas of exactly w x h pixels and writes it to path.
func savePNG(path string, p *plot.Plot, w, h int) error {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))))
	margin := vg.Points(8) // keeps the title and edge points off the border
	p.Draw(draw.Crop(draw.New(c), margin, -margin, margin, -margin))
	return atomicfile.Write(path, func(out io.Writer) error {
		return png.Encode(out, c.Image())
	})
}

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
	"gonum.org/v1/plot/text"
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
// epoch, like Keras' "model accuracy" figure, readable from the first
// epoch on: every point whole inside the frame, and each value written
// beside its point (the last epoch's alone where there are many).
func AccuracyPlot(path, title string, epochs []Epoch) error {
	p, err := accuracyPlot(title, epochs)
	if err == nil {
		err = savePNG(path, p, AccuracyWidth, AccuracyHeight)
	}
	if err != nil {
		return fmt.Errorf("accuracy plot %s: %w", path, err)
	}
	return nil
}

// labelEvery is how many epochs accuracy.png labels every point of; past
// it, the labels would crowd, and only the last epoch's are written.
const labelEvery = 8

func accuracyPlot(title string, epochs []Epoch) (*plot.Plot, error) {
	if len(epochs) == 0 {
		return nil, errors.New("no epochs")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "accuracy"
	p.X.Tick.Marker = epochTicks{}
	p.Add(plotter.NewGrid())
	// Accuracy rises from the lower left, and the last epoch's labels lie
	// at the right: the upper left is where neither is.
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(8)
	series := [2]plotter.XYs{}
	for i, s := range []struct {
		name string
		acc  func(Epoch) float64
	}{
		{"train", func(e Epoch) float64 { return e.Acc }},
		{"validation", func(e Epoch) float64 { return e.ValAcc }},
	} {
		xys := make(plotter.XYs, len(epochs))
		for j, e := range epochs {
			xys[j] = plotter.XY{X: float64(e.Epoch), Y: s.acc(e)}
			// Accuracy is a fraction; anything else (NaN, or a range so wide it
			// overflows) would break gonum's axis ticks, which then never return.
			if v := xys[j].Y; !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("%s accuracy at epoch %d is %v, not in [0, 1]", s.name, e.Epoch, v)
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = palette[i], vg.Points(1.5)
		points.Color, points.Shape, points.Radius = palette[i], draw.CircleGlyph{}, markerSize
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
		series[i] = xys
	}
	labels, err := valueLabels(series, len(epochs) > labelEvery)
	if err != nil {
		return nil, err
	}
	p.Add(labels...)
	// Half an epoch beside the first and last points, and room above and
	// below the values for the points and their labels.
	p.X.Min, p.X.Max = float64(epochs[0].Epoch)-0.5, float64(epochs[len(epochs)-1].Epoch)+0.5
	lo, hi := 1.0, 0.0
	for _, xys := range series {
		for _, xy := range xys {
			lo, hi = min(lo, xy.Y), max(hi, xy.Y)
		}
	}
	pad := max(hi-lo, 0.002) * 0.2
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	return p, nil
}

// valueLabels writes each point's value beside it, or with lastOnly the
// last epoch's: of the two series' values at an epoch, the higher above
// its point, the lower below, so that they never overlap.
func valueLabels(series [2]plotter.XYs, lastOnly bool) ([]plot.Plotter, error) {
	var above, below plotter.XYLabels
	for j := range series[0] {
		if lastOnly && j < len(series[0])-1 {
			continue
		}
		for i, xys := range series {
			xy := xys[j]
			label := strconv.FormatFloat(xy.Y, 'f', 4, 64)
			if xy.Y > series[1-i][j].Y || xy.Y == series[1-i][j].Y && i == 1 {
				above.XYs, above.Labels = append(above.XYs, xy), append(above.Labels, label)
			} else {
				below.XYs, below.Labels = append(below.XYs, xy), append(below.Labels, label)
			}
		}
	}
	var out []plot.Plotter
	for _, side := range []struct {
		labels plotter.XYLabels
		dy     vg.Length
		align  text.YAlignment
	}{{above, markerSize + vg.Points(2), text.YBottom}, {below, -markerSize - vg.Points(2), text.YTop}} {
		if len(side.labels.XYs) == 0 {
			continue
		}
		l, err := plotter.NewLabels(side.labels)
		if err != nil {
			return nil, err
		}
		for k := range l.TextStyle {
			l.TextStyle[k].XAlign, l.TextStyle[k].YAlign = text.XCenter, side.align
			if lastOnly {
				// The last epoch's point is half an epoch from the frame:
				// its label goes to the point's left.
				l.TextStyle[k].XAlign = text.XRight
			}
		}
		l.Offset = vg.Point{Y: side.dy}
		out = append(out, l)
	}
	return out, nil
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

// savePNG draws p on a canvas of exactly w x h pixels and writes it to path.
func savePNG(path string, p *plot.Plot, w, h int) error {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))))
	margin := vg.Points(8) // keeps the title and edge points off the border
	p.Draw(draw.Crop(draw.New(c), margin, -margin, margin, -margin))
	return atomicfile.Write(path, func(out io.Writer) error {
		return png.Encode(out, c.Image())
	})
}

// epochPlot is a plot of what y names against the epoch, on a light grid.
func epochPlot(y string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = y
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = lightGrid, lightGrid
	p.Add(grid)
	return p
}

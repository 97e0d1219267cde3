package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Sizes of the two-panel figures (loss beside accuracy), in pixels.
const (
	TrainingWidth, TrainingHeight = 1760, 480
	CompareWidth, CompareHeight   = 1280, 520
)

// Run is one training run, named for a figure's legend: its epochs and,
// where it has one, its training log.
type Run struct {
	Name   string
	Epochs []Epoch
	Steps  []Step
}

// TrainingPlot writes training.png: on the left the training loss of every
// log row (light) and smoothed (dark) with each epoch's validation loss on
// top, in the middle the same for accuracy; both on log scales, so that
// the last hundredths of a percent are as visible as the first minutes.
// On the right, the learning rate of each log row's last step.
func TrainingPlot(path, name string, epochs []Epoch, steps []Step) error {
	title := name
	if n := len(epochs); n > 0 {
		e := epochs[n-1]
		title = fmt.Sprintf("%s: validation accuracy %.2f%%, loss %.4f after %s", name, 100*e.ValAcc, e.ValLoss, Plural(e.Epoch, "epoch"))
	} else if n := len(steps); n > 0 {
		title = fmt.Sprintf("%s: %s, no epoch finished yet", name, Plural(steps[n-1].Step, "step"))
	}
	run := Run{Name: name, Epochs: epochs, Steps: steps}
	panels, err := metricPanels([]Run{run}, true)
	if err == nil && len(steps) > 0 {
		var lr *plot.Plot
		var line *plotter.Line
		if lr, line, err = ratePanel(steps); err == nil {
			panels = append(panels, lr)
			panels[0].Legend.Add("learning rate, each row's last step", line)
		}
	}
	if err == nil {
		err = drawFigure(path, TrainingWidth, TrainingHeight, title, panels, panels[0].Legend)
	}
	if err != nil {
		return fmt.Errorf("training plot %s: %w", path, err)
	}
	return nil
}

// ratePanel draws the learning rate of each log row's last step, on a
// linear axis from 0.
func ratePanel(steps []Step) (*plot.Plot, *plotter.Line, error) {
	p := epochPlot("learning rate")
	xys := make(plotter.XYs, len(steps))
	top := 0.0
	for i, s := range steps {
		if math.IsNaN(s.LR) || math.IsInf(s.LR, 0) || s.LR < 0 {
			return nil, nil, fmt.Errorf("learning rate at step %d is %v", s.Step, s.LR)
		}
		xys[i] = plotter.XY{X: s.Epoch, Y: s.LR}
		top = max(top, s.LR)
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return nil, nil, err
	}
	line.Color, line.Width = rateColour, vg.Points(2)
	p.Add(line)
	p.X.Min, p.X.Max = 0, math.Max(xys[len(xys)-1].X, 1)*1.015
	p.X.Tick.Marker = epochAxisTicks{}
	p.Y.Min, p.Y.Max = 0, math.Max(top, math.SmallestNonzeroFloat64)*1.08
	return p, line, nil
}

// ComparePlot writes several runs' loss and accuracy on the same axes:
// each run in its colour (they repeat after ten), training smoothed from
// its log (or per epoch, for a run without one), validation as points.
func ComparePlot(path string, runs []Run) error {
	if err := twoPanels(path, "training (lines) and validation (points, each epoch)", runs, false, CompareWidth, CompareHeight); err != nil {
		return fmt.Errorf("compare plot %s: %w", path, err)
	}
	return nil
}

// Plural is "1 epoch", "2 epochs".
func Plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// A metric is what one panel shows.
type metric struct {
	name       string
	train, val func(Epoch) float64
	row        func(Step) float64
	accuracy   bool // accuracy axis (log scale of the error), else log loss
}

var (
	lossMetric = metric{name: "loss", train: func(e Epoch) float64 { return e.Loss }, val: func(e Epoch) float64 { return e.ValLoss },
		row: func(s Step) float64 { return s.Loss }}
	accMetric = metric{name: "accuracy", train: func(e Epoch) float64 { return e.Acc }, val: func(e Epoch) float64 { return e.ValAcc },
		row: func(s Step) float64 { return s.Acc }, accuracy: true}
)

// Colours of a single run's figure.
var (
	rawColour  = color.NRGBA{0x1f, 0x77, 0xb4, 0x60} // the smoothed line's blue, faint
	valColour  = palette[1]
	rateColour = palette[2]
	lightGrid  = color.Gray{Y: 0xe0}
	markerSize = vg.Points(3.5)
)

func twoPanels(path, title string, runs []Run, single bool, w, h int) error {
	if len(runs) == 0 {
		return errors.New("no runs")
	}
	for _, r := range runs {
		if len(r.Epochs) == 0 && len(r.Steps) == 0 {
			return fmt.Errorf("run %q: no epochs and no log rows", r.Name)
		}
	}
	panels, err := metricPanels(runs, single)
	if err != nil {
		return err
	}
	return drawFigure(path, w, h, title, panels, panels[0].Legend)
}

// metricPanels draws the loss and the accuracy of the runs.
func metricPanels(runs []Run, single bool) ([]*plot.Plot, error) {
	var panels []*plot.Plot
	for _, m := range []metric{lossMetric, accMetric} {
		p, err := panel(m, runs, single)
		if err != nil {
			return nil, err
		}
		panels = append(panels, p)
	}
	return panels, nil
}

// drawFigure writes a w x h PNG: the title across the top, the plots side
// by side below it, and the legend in a strip to their right, clear of the
// data wherever that lies.
func drawFigure(path string, w, h int, title string, plots []*plot.Plot, legend plot.Legend) error {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	margin := vg.Points(8)
	dc = draw.Crop(dc, margin, -margin, margin, -margin)
	style := plot.New().Title.TextStyle
	style.Font.Size = vg.Points(13)
	rect := style.Rectangle(title)
	dc.FillText(style, vg.Point{X: dc.Center().X, Y: dc.Max.Y + style.FontExtents().Descent}, title)
	dc.Max.Y -= rect.Size().Y + vg.Points(10)
	for _, p := range plots {
		p.Legend = plot.NewLegend()
	}
	legend.Top, legend.Left = true, true
	legend.XOffs, legend.YOffs, legend.Padding = 0, -vg.Points(12), vg.Points(4)
	strip := dc
	strip.Min.X = dc.Max.X - legend.Rectangle(dc).Size().X
	dc.Max.X = strip.Min.X - vg.Points(16)
	legend.Draw(strip)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Points(24)}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	return atomicfile.Write(path, func(out io.Writer) error {
		return png.Encode(out, c.Image())
	})
}

// panel draws one metric of every run.
func panel(m metric, runs []Run, single bool) (*plot.Plot, error) {
	p := epochPlot(m.name)
	var all []float64 // every value drawn, for the axis range
	lastX := 0.0
	for i, r := range runs {
		colour := palette[i%len(palette)]
		if single {
			colour = palette[0]
		}
		if len(r.Steps) > 0 {
			raw := make(plotter.XYs, len(r.Steps))
			for j, s := range r.Steps {
				raw[j] = plotter.XY{X: s.Epoch, Y: m.row(s)}
				if err := checkValue(m, raw[j].Y, fmt.Sprintf("run %q: training %s at step %d", r.Name, m.name, s.Step)); err != nil {
					return nil, err
				}
				all = append(all, raw[j].Y)
			}
			lastX = max(lastX, raw[len(raw)-1].X)
			if single {
				line, err := plotter.NewLine(clampXYs(m, raw))
				if err != nil {
					return nil, err
				}
				line.Color, line.Width = rawColour, vg.Points(1)
				p.Add(line)
				p.Legend.Add("training, each row of steps.csv", line)
			}
			line, err := plotter.NewLine(clampXYs(m, smoothed(raw)))
			if err != nil {
				return nil, err
			}
			line.Color, line.Width = colour, vg.Points(2)
			p.Add(line)
			if single {
				p.Legend.Add("training, smoothed", line)
			} else {
				p.Legend.Add(r.Name, line)
			}
		} else if len(r.Epochs) > 0 {
			// A run from before training logs: its epochs' training means.
			xys := make(plotter.XYs, len(r.Epochs))
			for j, e := range r.Epochs {
				xys[j] = plotter.XY{X: float64(e.Epoch), Y: m.train(e)}
				if err := checkValue(m, xys[j].Y, fmt.Sprintf("run %q: training %s at epoch %d", r.Name, m.name, e.Epoch)); err != nil {
					return nil, err
				}
				all = append(all, xys[j].Y)
			}
			line, points, err := plotter.NewLinePoints(clampXYs(m, xys))
			if err != nil {
				return nil, err
			}
			line.Color, line.Width = colour, vg.Points(2)
			points.Color, points.Shape, points.Radius = colour, draw.CircleGlyph{}, vg.Points(2)
			p.Add(line, points)
			p.Legend.Add(r.Name, line)
		}
		if len(r.Epochs) == 0 {
			continue
		}
		val := make(plotter.XYs, len(r.Epochs))
		for j, e := range r.Epochs {
			val[j] = plotter.XY{X: float64(e.Epoch), Y: m.val(e)}
			if err := checkValue(m, val[j].Y, fmt.Sprintf("run %q: validation %s at epoch %d", r.Name, m.name, e.Epoch)); err != nil {
				return nil, err
			}
			all = append(all, val[j].Y)
		}
		lastX = max(lastX, val[len(val)-1].X)
		vc := colour
		if single {
			vc = valColour
		}
		line, points, err := plotter.NewLinePoints(clampXYs(m, val))
		if err != nil {
			return nil, err
		}
		line.Color, line.Width, line.Dashes = vc, vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
		points.Color, points.Shape, points.Radius = vc, draw.CircleGlyph{}, markerSize
		p.Add(line, points)
		if single {
			p.Legend.Add("validation, each epoch", line, points)
		}
	}
	// A little room on the right for the last epoch's point.
	p.X.Min, p.X.Max = 0, math.Max(lastX, 1)*1.015
	p.X.Tick.Marker = epochAxisTicks{}
	p.Y.Min, p.Y.Max = valueRange(m, all)
	if m.accuracy {
		p.Y.Scale, p.Y.Tick.Marker = errorScale{}, accuracyTicks{}
	} else {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	return p, nil
}

func checkValue(m metric, v float64, what string) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (m.accuracy && v > 1) {
		return fmt.Errorf("%s is %v", what, v)
	}
	return nil
}

// Log scales need room below the smallest value; a loss of 0 or an
// accuracy of 1 (a perfect row) is drawn at the axis' edge.
const (
	minLoss  = 1e-4
	minError = 1e-4
)

func valueRange(m metric, values []float64) (lo, hi float64) {
	if m.accuracy {
		// On the error: from the largest error to below the smallest.
		worst, best := 0.0, 1.0
		for _, v := range values {
			e := 1 - v
			worst = max(worst, e)
			if e > 0 {
				best = min(best, e)
			}
		}
		best = max(min(best, worst)/1.5, minError)
		return max(0, 1-worst*1.05), 1 - best
	}
	lo, hi = math.Inf(1), 0
	for _, v := range values {
		lo, hi = min(lo, max(v, minLoss)), max(hi, v)
	}
	return lo / 1.3, max(hi, lo) * 1.3
}

func clampXYs(m metric, xys plotter.XYs) plotter.XYs {
	if m.accuracy {
		return xys // errorScale draws 100% on the axis' edge
	}
	out := make(plotter.XYs, len(xys))
	for i, xy := range xys {
		xy.Y = max(xy.Y, minLoss)
		out[i] = xy
	}
	return out
}

// smoothed is a moving average over a window about row i of a fifth of i
// rows either side, at most 2.5% of all rows: narrow at the start, where
// the loss falls fast, wide later, where it is mostly noise. At the end
// the window is cut, not narrowed, so the last rows do not jump.
func smoothed(xys plotter.XYs) plotter.XYs {
	widest := max(3, len(xys)/40)
	out := make(plotter.XYs, len(xys))
	for i := range xys {
		half := min(widest, i/5)
		lo, hi := i-half, min(i+half, len(xys)-1)
		sum := 0.0
		for j := lo; j <= hi; j++ {
			sum += xys[j].Y
		}
		out[i] = plotter.XY{X: xys[i].X, Y: sum / float64(hi-lo+1)}
	}
	return out
}

// errorScale places an accuracy a at -log10(1-a): 90%, 99% and 99.9% are
// evenly spaced. The axis ends below 100%, which it cannot reach, so a
// perfect row is drawn on its top edge, not above the panel.
type errorScale struct{}

func (errorScale) Normalize(lo, hi, x float64) float64 {
	f := func(a float64) float64 { return -math.Log10(math.Max(1-a, minError/10)) }
	return min((f(x)-f(lo))/(f(hi)-f(lo)), 1)
}

// decades are the steps mantissas make of each power of ten from 10^-6 to
// 10^6 that lie in [lo, hi].
func decades(lo, hi float64, mantissas []float64) []float64 {
	var out []float64
	for exp := -6; exp <= 6; exp++ {
		for _, m := range mantissas {
			v := m * math.Pow10(exp)
			if exp < 0 {
				v = m / math.Pow10(-exp) // 3/10 is 0.3; 3*0.1 is not
			}
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

// logTicks labels 1, 2 and 5 of each decade on a log axis: every digit
// where that would leave fewer than three labels, only the powers of ten
// where it would crowd the axis.
type logTicks struct{ suffix string }

func (t logTicks) Ticks(lo, hi float64) []plot.Tick {
	vs := decades(lo, hi, []float64{1, 2, 5})
	if len(vs) < 3 {
		vs = decades(lo, hi, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9})
	}
	var ticks []plot.Tick
	for _, v := range vs {
		label := strconv.FormatFloat(v, 'g', -1, 64) + t.suffix
		if len(vs) > 9 && math.Abs(math.Log10(v)-math.Round(math.Log10(v))) > 1e-9 {
			label = ""
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	return ticks
}

// accuracyTicks labels accuracies whose error is 1, 2 or 5 of a decade
// (90%, 95%, 98%, 99%, ...), or only 90%, 99%, 99.9% where that would
// crowd the axis.
type accuracyTicks struct{}

func (accuracyTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	errs := (logTicks{}).Ticks(1-hi, 1-lo)
	slices.Reverse(errs) // largest error first: lowest accuracy first
	for _, tick := range errs {
		if tick.Value > 1 {
			continue
		}
		label := ""
		if tick.Label != "" {
			label = strconv.FormatFloat(100-100*tick.Value, 'f', -1, 64) + "%"
		}
		ticks = append(ticks, plot.Tick{Value: 1 - tick.Value, Label: label})
	}
	return ticks
}

// epochAxisTicks labels whole epochs on long runs, and tenths of an epoch
// on runs of an epoch or two.
type epochAxisTicks struct{}

func (epochAxisTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi-lo >= 3 {
		return epochTicks{}.Ticks(lo, hi)
	}
	return plot.DefaultTicks{}.Ticks(lo, hi)
}

package report

import (
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"

	"github.com/vkcnn/vkcnn/internal/pngtest"
)

func history(n int, base float64) []Epoch {
	var h []Epoch
	for e := 1; e <= n; e++ {
		x := float64(e)
		h = append(h, Epoch{Epoch: e, Loss: 1 / x, Acc: base + 0.02*(1-math.Exp(-x/3)), ValLoss: 1 / x, ValAcc: base + 0.01*(1-math.Exp(-x/4)), Seconds: 10})
	}
	return h
}

// count returns how many pixels of img are exactly c.
func count(img image.Image, c color.Color) int {
	n := 0
	b := img.Bounds()
	r0, g0, b0, a0 := c.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, a := img.At(x, y).RGBA(); r == r0 && g == g0 && bl == b0 && a == a0 {
				n++
			}
		}
	}
	return n
}

func TestAccuracyPlot(t *testing.T) {
	for _, n := range []int{1, 2, 15} {
		path := filepath.Join(t.TempDir(), "accuracy.png")
		if err := AccuracyPlot(path, "model accuracy", history(n, 0.97)); err != nil {
			t.Fatal(err)
		}
		img := pngtest.Decode(t, path, AccuracyWidth, AccuracyHeight)
		// Mostly white background, and both series drawn in their colours.
		if white := count(img, color.White); white < AccuracyWidth*AccuracyHeight/2 {
			t.Errorf("%d epochs: only %d white pixels", n, white)
		}
		for i, c := range palette[:2] {
			if count(img, c) < 20 {
				t.Errorf("%d epochs: series %d (colour %v) barely drawn", n, i, c)
			}
		}
		if count(img, palette[2]) != 0 {
			t.Errorf("%d epochs: a third series colour appears", n)
		}
	}
}

// TestAccuracyPlotReadsAtAnyLength: after one epoch as after twenty,
// every point lies inside the frame with room for its marker and label,
// and the values are written beside their points: every point's up to
// labelEvery epochs, the last epoch's after that, the higher of the two
// above its point.
func TestAccuracyPlotReadsAtAnyLength(t *testing.T) {
	for _, n := range []int{1, 2, labelEvery, 20} {
		h := history(n, 0.97)
		if n == 1 {
			h[0].Acc, h[0].ValAcc = 0.948, 0.9849 // the quick start's: validation above training
		}
		p, err := accuracyPlot("t", h)
		if err != nil {
			t.Fatal(err)
		}
		if p.X.Min != 0.5 || p.X.Max != float64(n)+0.5 {
			t.Errorf("%d epochs: epoch axis %v to %v, want half an epoch beside the first and last", n, p.X.Min, p.X.Max)
		}
		lo, hi := 1.0, 0.0
		var series [2]plotter.XYs
		for _, e := range h {
			lo, hi = math.Min(lo, math.Min(e.Acc, e.ValAcc)), math.Max(hi, math.Max(e.Acc, e.ValAcc))
			series[0] = append(series[0], plotter.XY{X: float64(e.Epoch), Y: e.Acc})
			series[1] = append(series[1], plotter.XY{X: float64(e.Epoch), Y: e.ValAcc})
		}
		if room := 0.15 * (hi - lo); p.Y.Min > lo-room || p.Y.Max < hi+room {
			t.Errorf("%d epochs: accuracy axis %v to %v leaves no room around the values %v to %v", n, p.Y.Min, p.Y.Max, lo, hi)
		}
		plotters, err := valueLabels(series, n > labelEvery)
		if err != nil {
			t.Fatal(err)
		}
		var above, below []string
		for _, pl := range plotters {
			l := pl.(*plotter.Labels)
			if l.Offset.Y > 0 {
				above = append(above, l.Labels...)
			} else {
				below = append(below, l.Labels...)
			}
		}
		labelled := h
		if n > labelEvery {
			labelled = h[n-1:]
		}
		var wantAbove, wantBelow []string
		for _, e := range labelled {
			high, low := e.ValAcc, e.Acc
			if e.Acc > e.ValAcc {
				high, low = e.Acc, e.ValAcc
			}
			wantAbove = append(wantAbove, strconv.FormatFloat(high, 'f', 4, 64))
			wantBelow = append(wantBelow, strconv.FormatFloat(low, 'f', 4, 64))
		}
		slices.Sort(above)
		slices.Sort(below)
		slices.Sort(wantAbove)
		slices.Sort(wantBelow)
		if !slices.Equal(above, wantAbove) || !slices.Equal(below, wantBelow) {
			t.Errorf("%d epochs: labels above %v and below %v, want %v and %v", n, above, below, wantAbove, wantBelow)
		}
	}
}

func TestComparePlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "compare.png")
	runs := []Run{{Name: "plain", Epochs: history(10, 0.97)}, {Name: "augmented", Epochs: history(12, 0.96)}, {Name: "wide", Epochs: history(3, 0.95)}}
	if err := ComparePlot(path, runs); err != nil {
		t.Fatal(err)
	}
	img := pngtest.Decode(t, path, CompareWidth, CompareHeight)
	for i, c := range palette[:3] {
		if count(img, c) < 20 {
			t.Errorf("run %d (colour %v) barely drawn", i, c)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	nan := history(3, 0.9)
	nan[1].ValAcc = math.NaN()
	for _, tc := range []struct {
		name string
		plot func(path string) error
		want string
	}{
		{"accuracy no epochs", func(p string) error { return AccuracyPlot(p, "t", nil) }, "no epochs"},
		{"accuracy NaN", func(p string) error { return AccuracyPlot(p, "t", nan) }, "validation accuracy at epoch 2 is NaN"},
		// A range this wide once sent gonum's ticker into an endless loop.
		{"accuracy out of range", func(p string) error {
			return AccuracyPlot(p, "t", []Epoch{{Epoch: 1, Acc: 1e308, ValAcc: -1e308}})
		}, "train accuracy at epoch 1 is 1e+308, not in [0, 1]"},
		{"compare no runs", func(p string) error { return ComparePlot(p, nil) }, "no runs"},
		{"compare empty run", func(p string) error {
			return ComparePlot(p, []Run{{Name: "a", Epochs: history(2, 0.9)}, {Name: "b"}})
		}, `run "b": no epochs and no log rows`},
		{"compare NaN", func(p string) error { return ComparePlot(p, []Run{{Name: "a", Epochs: nan}}) }, `run "a": validation accuracy at epoch 2 is NaN`},
		{"missing directory", func(string) error { return AccuracyPlot(filepath.Join(dir, "no", "x.png"), "t", history(2, 0.9)) }, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "plot.png")
			err := tc.plot(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want it to name the file and contain %q", err, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("a failed plot left %s (%v)", path, err)
			}
		})
	}
}

func TestEpochTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 2, "0 1 2"},
		{0.6, 15.4, "2 4 6 8 10 12 14"},
		{1, 137, "20 40 60 80 100 120"},
		{1e18, 1e18, "1000000000000000000"},
	} {
		var labels []string
		for _, tick := range (epochTicks{}).Ticks(tc.lo, tc.hi) {
			labels = append(labels, tick.Label)
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("Ticks(%v, %v) = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}

package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Size of reproduce.png, in pixels.
const ReproduceWidth, ReproduceHeight = 960, 540

// Experiment is one row of a reproduction: a training setup run once a
// seed, and the test error the literature reports for it.
type Experiment struct {
	Name string
	// Precision is the arithmetic of its products where not fp32
	// ("bf16"): its row and line are the experiment's at that precision,
	// beside the same published figure.
	Precision    string
	Augmentation string  // in words
	Published    float64 // test error, a fraction
	Source       string  // where Published comes from
	Runs         []SeedRun
}

// label names the experiment's row and line: its name, and its precision
// where not fp32.
func (e Experiment) label() string {
	if e.Precision == "" {
		return e.Name
	}
	return e.Name + ", " + e.Precision
}

// SeedRun is one seed's run of an experiment.
type SeedRun struct {
	Seed   uint64
	Dir    string
	Epochs []Epoch // its history, cut to the reproduction's epochs
	Steps  []Step  // its training log, for the training speed
	Done   bool    // it has trained every epoch
}

// finalError is the test error after the run's last epoch.
func (r SeedRun) finalError() float64 { return 1 - r.Epochs[len(r.Epochs)-1].ValAcc }

// done are the runs that finished.
func (e Experiment) done() []SeedRun {
	var out []SeedRun
	for _, r := range e.Runs {
		if r.Done && len(r.Epochs) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// ErrorPlot writes reproduce.png: the test error of each experiment
// against the epoch, the mean over its finished seeds as a line and the
// band from the best to the worst seed, on a log axis, with the published
// figure as a dotted line in the same colour.
func ErrorPlot(path, title string, exps []Experiment) error {
	if err := errorPlot(path, title, exps); err != nil {
		return fmt.Errorf("reproduction plot %s: %w", path, err)
	}
	return nil
}

func errorPlot(path, title string, exps []Experiment) error {
	p := epochPlot("test error")
	type reference struct {
		name   string
		error  float64
		colour color.Color
	}
	var published []reference
	lo, hi, epochs := math.Inf(1), 0.0, 0
	bands := false // some experiment has finished seeds to span
	for i, e := range exps {
		runs := e.done()
		if len(runs) == 0 {
			continue
		}
		n := len(runs[0].Epochs)
		for _, r := range runs {
			n = min(n, len(r.Epochs))
		}
		colour := palette[i%len(palette)]
		mean, band := make(plotter.XYs, n), make(plotter.XYs, 2*n)
		for k := range n {
			var errs []float64
			for _, r := range runs {
				v := 100 * (1 - r.Epochs[k].ValAcc)
				if !(v >= 0 && v <= 100) {
					return fmt.Errorf("%s seed %d: test error at epoch %d is %v%%", e.label(), r.Seed, k+1, v)
				}
				errs = append(errs, max(v, minError*100))
			}
			x := float64(runs[0].Epochs[k].Epoch)
			if n == 1 {
				// Side by side, so the bars do not hide each other.
				x += 0.1 * (float64(i) - float64(len(exps)-1)/2)
			}
			mean[k] = plotter.XY{X: x, Y: meanOf(errs)}
			band[k] = plotter.XY{X: x, Y: slices.Min(errs)}
			band[2*n-1-k] = plotter.XY{X: x, Y: slices.Max(errs)}
			lo, hi = min(lo, band[k].Y), max(hi, band[2*n-1-k].Y)
		}
		epochs = max(epochs, runs[0].Epochs[n-1].Epoch)
		fill := color.NRGBA{colour.R, colour.G, colour.B, 0x40}
		if n > 1 {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return err
			}
			poly.Color, poly.LineStyle.Width = fill, 0
			p.Add(poly)
		} else {
			// One epoch: the band is a bar from the best seed to the worst.
			bar, err := plotter.NewLine(plotter.XYs{band[0], band[1]})
			if err != nil {
				return err
			}
			bar.Color, bar.Width = fill, vg.Points(10)
			p.Add(bar)
		}
		line, points, err := plotter.NewLinePoints(mean)
		if err != nil {
			return err
		}
		line.Color, line.Width = colour, vg.Points(2)
		points.Color, points.Shape, points.Radius = colour, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(line, points)
		name := fmt.Sprintf("%s, seed %d", e.label(), runs[0].Seed)
		if len(runs) > 1 {
			name, bands = fmt.Sprintf("%s, mean of %d seeds", e.label(), len(runs)), true
		}
		p.Legend.Add(name, line)
		if e.Published > 0 && !slices.ContainsFunc(published, func(r reference) bool { return r.name == e.Name }) {
			published = append(published, reference{e.Name, 100 * e.Published, colour})
			lo, hi = min(lo, 100*e.Published), max(hi, 100*e.Published)
		}
	}
	if epochs == 0 {
		return errors.New("no finished run to draw")
	}
	p.X.Min, p.X.Max = 0.5, float64(epochs)+0.5
	for _, ref := range published {
		line, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: ref.error}, {X: p.X.Max, Y: ref.error}})
		if err != nil {
			return err
		}
		line.Color, line.Width, line.Dashes = ref.colour, vg.Points(1.2), []vg.Length{vg.Points(1.5), vg.Points(3)}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s, published: %.2f%%", ref.name, ref.error), line)
	}
	p.X.Tick.Marker = epochTicks{}
	p.Y.Min, p.Y.Max = lo/1.25, hi*1.25
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{suffix: "%"}
	if bands {
		title += " (bands: best to worst seed)"
	}
	return drawFigure(path, ReproduceWidth, ReproduceHeight, title, []*plot.Plot{p}, p.Legend)
}

func meanOf(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// sampleSD is the standard deviation with n-1 in the denominator; NaN for
// fewer than two values.
func sampleSD(xs []float64) float64 {
	if len(xs) < 2 {
		return math.NaN()
	}
	m, ss := meanOf(xs), 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// Reproduction is what REPORT.md tells.
type Reproduction struct {
	Title       string
	Command     string // the command line that makes it
	Settings    string // model, epochs, batch, optimizer, in words
	Experiments []Experiment
	Devices     []string // device and driver of the runs
	Figure      string   // the figure's file name, beside REPORT.md
}

// WriteReproduction writes REPORT.md: a table of the experiments (seeds,
// final test error mean ± standard deviation, best and worst seed, the
// published figure, seconds an epoch and images a second), a table of the
// runs, and the figure.
func WriteReproduction(path string, r Reproduction) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	fmt.Fprintf(&b, "Made by `%s`: %s. Test error after the last epoch, on the 10,000 MNIST test digits.\n\n", r.Command, r.Settings)
	b.WriteString("| experiment | augmentation | seeds | test error, mean ± sd | best seed | worst seed | published | s/epoch | images/s |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	var notes []string
	for _, e := range r.Experiments {
		runs := e.done()
		published := "—"
		if e.Published > 0 {
			// One note an experiment, whatever rows of precision it has.
			note := fmt.Sprintf("%s: %.2f%%, %s", e.Name, 100*e.Published, e.Source)
			if !slices.Contains(notes, note) {
				notes = append(notes, note)
			}
			published = fmt.Sprintf("%.2f%% [%d]", 100*e.Published, slices.Index(notes, note)+1)
		}
		seeds := fmt.Sprintf("%d of %d", len(runs), len(e.Runs))
		if len(runs) == 0 {
			fmt.Fprintf(&b, "| %s | %s | %s | — | — | — | %s | — | — |\n", e.label(), e.Augmentation, seeds, published)
			continue
		}
		errs := make([]float64, len(runs))
		for i, run := range runs {
			errs[i] = 100 * run.finalError()
		}
		best, worst := slices.Index(errs, slices.Min(errs)), slices.Index(errs, slices.Max(errs))
		spread := "—"
		if sd := sampleSD(errs); !math.IsNaN(sd) {
			spread = fmt.Sprintf("%.2f%%", sd)
		}
		secs, rate := speed(runs)
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f%% ± %s | %.2f%% (seed %d) | %.2f%% (seed %d) | %s | %s | %s |\n",
			e.label(), e.Augmentation, seeds, meanOf(errs), spread, errs[best], runs[best].Seed, errs[worst], runs[worst].Seed,
			published, secs, rate)
	}
	b.WriteString("\n")
	for i, n := range notes {
		fmt.Fprintf(&b, "[%d] %s.  \n", i+1, n)
	}
	b.WriteString("sd is the sample standard deviation over seeds; s/epoch includes the validation pass, images/s is training alone.\n\n")
	if len(r.Devices) > 0 {
		fmt.Fprintf(&b, "Device: %s.\n\n", strings.Join(r.Devices, "; "))
	}
	if r.Figure != "" {
		fmt.Fprintf(&b, "![test error against epoch](%s)\n\n", r.Figure)
	}
	b.WriteString("## Runs\n\n| run | epochs | test error | s/epoch | images/s |\n|---|---|---|---|---|\n")
	for _, e := range r.Experiments {
		for _, run := range e.Runs {
			if len(run.Epochs) == 0 {
				fmt.Fprintf(&b, "| %s | 0 | — | — | — |\n", run.Dir)
				continue
			}
			state := ""
			if !run.Done {
				state = " (unfinished)"
			}
			secs, rate := speed([]SeedRun{run})
			fmt.Fprintf(&b, "| %s | %d%s | %.2f%% | %s | %s |\n", run.Dir, len(run.Epochs), state, 100*run.finalError(), secs, rate)
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// speed is the mean seconds an epoch and the training images a second of
// runs, as table cells: the time of each log row is its images over its
// rate.
func speed(runs []SeedRun) (secs, rate string) {
	var seconds, epochs, images, trainSeconds float64
	for _, r := range runs {
		for _, e := range r.Epochs {
			seconds += e.Seconds
			epochs++
		}
		prev := 0
		for _, s := range r.Steps {
			if s.ImagesPerSecond > 0 {
				images += float64(s.Images - prev)
				trainSeconds += float64(s.Images-prev) / s.ImagesPerSecond
			}
			prev = s.Images
		}
	}
	secs, rate = "—", "—"
	if epochs > 0 {
		secs = fmt.Sprintf("%.1f", seconds/epochs)
	}
	if trainSeconds > 0 {
		rate = fmt.Sprintf("%.0f", images/trainSeconds)
	}
	return secs, rate
}

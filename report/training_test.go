package report

import (
	"errors"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/vkcnn/vkcnn/internal/pngtest"
)

// logOf makes a run of epochs epochs and rows rows an epoch whose loss
// falls and accuracy rises, with a little deterministic wobble.
func logOf(epochs, rows int) ([]Epoch, []Step) {
	var steps []Step
	for i := 1; i <= epochs*rows; i++ {
		x := float64(i) / float64(rows)
		loss := (0.04 + 2*math.Exp(-8*x)) * (1 + 0.3*math.Sin(float64(i)))
		steps = append(steps, Step{Step: 10 * i, Epoch: x, Images: 320 * i, Loss: loss, Acc: 1 - loss/3, LR: 1e-3, ImagesPerSecond: 200 + float64(i%7)})
	}
	return history(epochs, 0.97), steps
}

func TestStepsRoundTripAndResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steps.csv")
	_, rows := logOf(1, 5)
	rows[2].Loss = 1.0 / 3 // the shortest form must parse back to the same bits
	rows[3].GradNorm = 2.5 // a run that clips (the others' is empty)
	l, err := CreateStepLog(path, rows[:2])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[2:] {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(l.Sync(), l.Close()); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSteps(path)
	if err != nil || !slices.Equal(back, rows) {
		t.Fatalf("read back %+v (%v), want %+v", back, err, rows)
	}
	// A torn last line (a crash mid-write) keeps the rows before it.
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data, "6,0.2,19"...), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err = ReadSteps(path)
	if err == nil || !strings.Contains(err.Error(), "line 7: 3 fields, want 8") || !slices.Equal(back, rows) {
		t.Fatalf("torn line: %d rows, %v", len(back), err)
	}
	// Starting afresh from the kept rows drops the rest.
	l, err = CreateStepLog(path, rows[:3])
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if back, err = ReadSteps(path); err != nil || !slices.Equal(back, rows[:3]) {
		t.Fatalf("rewritten log: %+v, %v", back, err)
	}
	// A log from before grad_norm reads as it did.
	old := strings.Join(stepsHeaderNoNorm, ",") + "\n10,0.5,320,0.25,0.9,0.001,250\n20,1,640,0.2,0.92,0.001,260\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []Step{{Step: 10, Epoch: 0.5, Images: 320, Loss: 0.25, Acc: 0.9, LR: 0.001, ImagesPerSecond: 250},
		{Step: 20, Epoch: 1, Images: 640, Loss: 0.2, Acc: 0.92, LR: 0.001, ImagesPerSecond: 260}}
	if back, err = ReadSteps(path); err != nil || !slices.Equal(back, want) {
		t.Fatalf("a log without grad_norm: %+v, %v", back, err)
	}
}

func TestReadStepsRejects(t *testing.T) {
	header := strings.Join(stepsHeader, ",") + "\n"
	for _, c := range []struct{ body, want string }{
		{"", "empty file"},
		{"step,epoch\n", "header"},
		{header + "x,1,2,3,4,5,,6\n", `step "x" is not an integer`},
		{header + "1,1,2,3,four,5,,6\n", `acc "four" is not a number`},
		{header + "1,1,2,3,4,5,big,6\n", `grad_norm "big" is not a number`},
		{header + "2,1,2,3,4,5,,6\n1,1,2,3,4,5,,6\n", "line 3: step 1 after step 2"},
	} {
		var steps []Step
		err := scanCSV(strings.NewReader(c.body), stepsHeader, stepRow(&steps, stepsHeader))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
}

func TestTrainingPlot(t *testing.T) {
	for _, epochs := range []int{1, 12} {
		path := filepath.Join(t.TempDir(), "training.png")
		h, s := logOf(epochs, 100)
		s[40].Acc = 1      // a perfect row sits at the axis' edge
		for i := range s { // a warmup, then a cosine
			s[i].LR = 0.1 * min(float64(i+1)/20, (1+math.Cos(math.Pi*float64(i)/float64(len(s))))/2)
		}
		if err := TrainingPlot(path, "run", h, s); err != nil {
			t.Fatal(err)
		}
		img := pngtest.Decode(t, path, TrainingWidth, TrainingHeight)
		if white := count(img, color.White); white < TrainingWidth*TrainingHeight/2 {
			t.Errorf("%d epochs: only %d white pixels", epochs, white)
		}
		// The smoothed line, the validation points and the rate in their
		// colours.
		for _, c := range palette[:3] {
			if count(img, c) < 100 {
				t.Errorf("%d epochs: colour %v barely drawn", epochs, c)
			}
		}
	}
	// Stopped in its first epoch: the log alone.
	_, s := logOf(1, 30)
	if err := TrainingPlot(filepath.Join(t.TempDir(), "t.png"), "run", nil, s[:12]); err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(s)
	bad[3].Loss = math.NaN()
	err := TrainingPlot(filepath.Join(t.TempDir(), "t.png"), "run", nil, bad)
	if err == nil || !strings.Contains(err.Error(), "training loss at step 40 is NaN") {
		t.Fatalf("NaN loss: %v", err)
	}
	bad = slices.Clone(s)
	bad[5].LR = -1
	err = TrainingPlot(filepath.Join(t.TempDir(), "t.png"), "run", nil, bad)
	if err == nil || !strings.Contains(err.Error(), "learning rate at step 60 is -1") {
		t.Fatalf("negative rate: %v", err)
	}
}

func TestComparePlotWithLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "compare.png")
	h, s := logOf(4, 50)
	runs := []Run{{Name: "logged", Epochs: h, Steps: s}, {Name: "old", Epochs: history(3, 0.96)}, {Name: "first epoch", Steps: s[:20]}}
	if err := ComparePlot(path, runs); err != nil {
		t.Fatal(err)
	}
	img := pngtest.Decode(t, path, CompareWidth, CompareHeight)
	for i, c := range palette[:3] {
		if count(img, c) < 50 {
			t.Errorf("run %d (colour %v) barely drawn", i, c)
		}
	}
}

func TestSmoothed(t *testing.T) {
	var xys plotter.XYs
	for i := range 400 {
		y := 1.0
		if i%2 == 1 {
			y = 3
		}
		xys = append(xys, plotter.XY{X: float64(i), Y: y})
	}
	s := smoothed(xys)
	// The first row stands alone; past the start the window evens out the
	// alternation to about 2, and the last rows do not jump.
	if s[0].Y != 1 || math.Abs(s[200].Y-2) > 0.05 || math.Abs(s[399].Y-2) > 0.2 || s[150].X != 150 {
		t.Fatalf("smoothed: %v %v %v", s[0], s[200], s[399])
	}
}

func TestTicks(t *testing.T) {
	labels := func(ticks []plot.Tick) string {
		var out []string
		for _, tk := range ticks {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		got, want string
	}{
		{labels(logTicks{}.Ticks(0.015, 3)), "0.02 0.05 0.1 0.2 0.5 1 2"},
		{labels(logTicks{suffix: "%"}.Ticks(0.35, 1.3)), "0.4% 0.5% 0.6% 0.7% 0.8% 0.9% 1%"},
		{labels(logTicks{}.Ticks(1e-4, 10)), "0.0001 0.001 0.01 0.1 1 10"},
		{labels(accuracyTicks{}.Ticks(0.4, 0.999)), "50% 80% 90% 95% 98% 99% 99.5% 99.8% 99.9%"},
		{labels(accuracyTicks{}.Ticks(0, 0.99)), "0% 50% 80% 90% 95% 98% 99%"},
	} {
		if c.got != c.want {
			t.Errorf("ticks %q, want %q", c.got, c.want)
		}
	}
}

// A row at 100% training accuracy lies beyond the accuracy axis, which
// ends below 100%: it is drawn on the top edge, not above the panel.
func TestErrorScaleKeepsPerfectRowsInside(t *testing.T) {
	lo, hi := 0.9, 0.995
	for _, c := range []struct{ a, want float64 }{{lo, 0}, {hi, 1}, {1, 1}, {0.9999, 1}} {
		if got := (errorScale{}).Normalize(lo, hi, c.a); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("accuracy %v on [%v, %v] is drawn at %v of the axis, want %v", c.a, lo, hi, got, c.want)
		}
	}
}

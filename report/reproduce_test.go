package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/internal/pngtest"
)

// seedRun has test errors errs (percent) after its epochs, 10 s an epoch,
// and a log of two rows: 600 images at 300/s, then 600 at 100/s (8 s).
func seedRun(seed uint64, done bool, errs ...float64) SeedRun {
	r := SeedRun{Seed: seed, Dir: "run", Done: done}
	for i, e := range errs {
		r.Epochs = append(r.Epochs, Epoch{Epoch: i + 1, ValAcc: 1 - e/100, Seconds: 10})
	}
	r.Steps = []Step{{Step: 1, Images: 600, ImagesPerSecond: 300}, {Step: 2, Images: 1200, ImagesPerSecond: 100}}
	return r
}

func TestWriteReproduction(t *testing.T) {
	exps := []Experiment{
		{Name: "plain", Augmentation: "none", Published: 0.0083, Source: "the seed",
			Runs: []SeedRun{seedRun(1, true, 2, 1.0), seedRun(2, true, 2, 1.2), seedRun(3, true, 2, 0.8)}},
		{Name: "shift", Augmentation: "shifts", Published: 0.0054, Source: "the seed",
			Runs: []SeedRun{seedRun(1, true, 0.5), seedRun(2, false)}},
		{Name: "paper", Augmentation: "whole pixels", Runs: []SeedRun{seedRun(1, false, 3)}},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "REPORT.md")
	if err := WriteReproduction(path, Reproduction{Title: "T", Command: "vkcnn reproduce", Settings: "model m", Experiments: exps,
		Devices: []string{"gpu, driver 1"}, Figure: "reproduce.png"}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// Mean 1.00%, sample sd 0.20%; 10 s an epoch; 1200 images in 2 + 6 s.
		"| plain | none | 3 of 3 | 1.00% ± 0.20% | 0.80% (seed 3) | 1.20% (seed 2) | 0.83% [1] | 10.0 | 150 |",
		"| shift | shifts | 1 of 2 | 0.50% ± — | 0.50% (seed 1) | 0.50% (seed 1) | 0.54% [2] | 10.0 | 150 |",
		"| paper | whole pixels | 0 of 1 | — | — | — | — | — | — |",
		"[1] plain: 0.83%, the seed.", "Device: gpu, driver 1.", "![test error against epoch](reproduce.png)",
		"| run | 1 (unfinished) | 3.00% | 10.0 | 150 |", "Made by `vkcnn reproduce`: model m.",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("REPORT.md lacks %q:\n%s", want, md)
		}
	}
	png := filepath.Join(dir, "reproduce.png")
	if err := ErrorPlot(png, "title", exps); err != nil {
		t.Fatal(err)
	}
	img := pngtest.Decode(t, png, ReproduceWidth, ReproduceHeight)
	// Two experiments with finished runs, in their colours; the third has
	// none.
	for i, c := range palette[:2] {
		if count(img, c) < 50 {
			t.Errorf("experiment %d (colour %v) barely drawn", i, c)
		}
	}
	if count(img, palette[2]) != 0 {
		t.Error("an experiment without a finished run is drawn")
	}
	err = ErrorPlot(png, "title", exps[2:])
	if err == nil || !strings.Contains(err.Error(), "no finished run") {
		t.Fatalf("nothing finished: %v", err)
	}
}

// Package runfolder is the folder a training run leaves, and the folder of
// a reproduction's runs: the name of every file in them, and the reading
// and writing of those that commands and scripts read back. Each file's
// format lives with its writer (report for the CSV logs and figures, nn
// for the model, weights and checkpoint, kernels for the kernels record);
// what a folder holds is said here alone.
package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/report"
)

// The files of a run folder.
const (
	ModelFile      = "model.json"             // the model trained (nn.Spec)
	WeightsFile    = "weights.safetensors"    // its weights after the last epoch, or the best (--keep best)
	CheckpointFile = "checkpoint.safetensors" // weights, Adam's moments and where training stands, for --resume
	RecordFile     = "run.json"               // how and on what it was trained (Record)
	HistoryFile    = "history.csv"            // an epoch a row (report.Epoch)
	StepsFile      = "steps.csv"              // the training log, a row every few steps (report.Step)
	KernelsFile    = "kernels.json"           // the kernels it trains with, which --resume runs again (kernels.SaveRunKernels)
	AccuracyFigure = "accuracy.png"           // accuracy by epoch
	TrainingFigure = "training.png"           // the training log and the history
)

// SmallFiles tell how a run went without its weights: what a reproduction
// files in a repository (docs/reproduce).
var SmallFiles = []string{RecordFile, HistoryFile, StepsFile, KernelsFile}

// The files of a reproduction folder, beside its run folders.
const (
	SettingsFile = "reproduce.json" // the settings every run shares
	ReportFile   = "REPORT.md"      // the table of the runs
	ReportFigure = "reproduce.png"  // test error by epoch
)

// SeedRunName is the run folder of an experiment's seed in a
// reproduction: EXPERIMENT-seedN at fp32, EXPERIMENT-PRECISION-seedN at
// another precision.
func SeedRunName(experiment string, prec kernels.Precision, seed int) string {
	if prec != kernels.FP32 {
		return fmt.Sprintf("%s-%s-seed%d", experiment, prec, seed)
	}
	return fmt.Sprintf("%s-seed%d", experiment, seed)
}

// Record is run.json: how a run was trained (the interpolation among its
// augmentation settings) and on what, for people and for reproduce.
type Record struct {
	Model  string         `json:"model"`
	Config nn.TrainConfig `json:"config"`
	Data   *Data          `json:"data,omitempty"` // nil in runs from before it was recorded
	// Normalize is the normalization the run feeds its inputs through
	// (nil: none).
	Normalize *augment.Normalization `json:"normalize,omitempty"`
	Device    string                 `json:"device"`
	Driver    string                 `json:"driver"`
	// Stopped is when and why early stopping ended the run.
	Stopped *Stop `json:"stopped,omitempty"`
}

// Stop is the epoch after which early stopping ended a run, and why.
type Stop struct {
	Epoch  int    `json:"epoch"`
	Reason string `json:"reason"`
}

// Data is run.json's account of the data set a run trained on.
type Data struct {
	Dir      string   `json:"dir"`
	Format   string   `json:"format"`
	Height   int      `json:"height"`
	Width    int      `json:"width"`
	Channels int      `json:"channels"`
	Classes  int      `json:"classes"`
	Names    []string `json:"class_names,omitempty"`
	Train    int      `json:"train_samples"`
	Test     int      `json:"test_samples"`
	// An image folder's --image-size (empty: the images' own) and colour
	// (empty: not an image folder).
	ImageSize string `json:"image_size,omitempty"`
	Color     string `json:"color,omitempty"`
}

// SameShape says whether two records describe data sets a run can go on
// with: images of one size, the same classes, as many training samples
// (an epoch's steps and the shuffling depend on their number).
func (d *Data) SameShape(o *Data) bool {
	return d.Height == o.Height && d.Width == o.Width && d.Channels == o.Channels && d.Classes == o.Classes && d.Train == o.Train
}

func (d *Data) String() string {
	return fmt.Sprintf("%d training images of %dx%dx%d in %d classes", d.Train, d.Height, d.Width, d.Channels, d.Classes)
}

// WriteRecord writes run.json.
func WriteRecord(dir string, rec Record) error {
	if err := writeJSON(filepath.Join(dir, RecordFile), rec); err != nil {
		return fmt.Errorf("write %s: %w", RecordFile, err)
	}
	return nil
}

// ReadRecord reads run.json; a run folder from before it has none, which
// is fs.ErrNotExist.
func ReadRecord(dir string) (Record, error) {
	var rec Record
	err := ReadJSON(filepath.Join(dir, RecordFile), &rec)
	return rec, err
}

// ReadJSON reads the JSON file at path into v; a missing file is
// fs.ErrNotExist, and a malformed one names the file.
func ReadJSON(path string, v any) error {
	js, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadHistory reads history.csv.
func ReadHistory(dir string) ([]report.Epoch, error) {
	return report.ReadHistory(filepath.Join(dir, HistoryFile))
}

// ReadSteps reads steps.csv.
func ReadSteps(dir string) ([]report.Step, error) {
	return report.ReadSteps(filepath.Join(dir, StepsFile))
}

// State is how far a run folder got: its history (none in a folder that
// was never trained, or is not yet one epoch in), and whether it has a
// checkpoint to continue from.
func State(dir string) (history []report.Epoch, checkpoint bool, err error) {
	h, err := ReadHistory(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	_, err = os.Stat(filepath.Join(dir, CheckpointFile))
	return h, err == nil, nil
}

// ErrNoRun explains what a run folder must hold.
var ErrNoRun = fmt.Errorf("not a run folder (vkcnn train writes %s and %s there)", ModelFile, WeightsFile)

// ReadModel reads a run folder's model.json.
func ReadModel(dir string) (nn.ModelSpec, *nn.Model, error) {
	path := filepath.Join(dir, ModelFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nn.ModelSpec{}, nil, fmt.Errorf("%s: %w", dir, ErrNoRun)
	}
	if err != nil {
		return nn.ModelSpec{}, nil, err
	}
	spec, err := nn.ParseSpec(data)
	if err != nil {
		return spec, nil, fmt.Errorf("%s: %w", path, err)
	}
	model, err := nn.Build(spec)
	return spec, model, err
}

// WriteModel writes model.json.
func WriteModel(dir string, spec nn.ModelSpec) error {
	js, err := spec.JSON()
	if err != nil {
		return err
	}
	err = atomicfile.Write(filepath.Join(dir, ModelFile), func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", ModelFile, err)
	}
	return nil
}

// Load reads a run folder's model and weights.
func Load(dir string) (*nn.Model, []float32, error) {
	_, model, err := ReadModel(dir)
	if err != nil {
		return nil, nil, err
	}
	params, err := model.LoadWeights(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, nil, err
	}
	return model, params, nil
}

// CopySmallFiles copies a run's small files from one run folder to
// another, which it makes.
func CopySmallFiles(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, name := range SmallFiles {
		data, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			return err
		}
		err = atomicfile.Write(filepath.Join(to, name), func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// writeJSON writes v indented, whole or not at all.
func writeJSON(path string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	})
}

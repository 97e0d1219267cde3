package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

func deviceDriver(info vk.DeviceInfo) string {
	if info.DriverInfo == "" {
		return info.DriverName
	}
	return info.DriverName + " " + info.DriverInfo
}

// openStepLog starts steps.csv, or for a resumed run keeps its rows up to
// the checkpoint's step (rows after it are redone) and continues it. A
// log it cannot read back costs the curve's past, not the run: that is a
// warning.
func openStepLog(dir string, resume *nn.TrainState, warn io.Writer) (*report.StepLog, []report.Step, error) {
	path := filepath.Join(dir, runfolder.StepsFile)
	var kept []report.Step
	if resume != nil {
		rows, err := report.ReadSteps(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(warn, "vkcnn: warning: %v; keeping the %d rows before it\n", err, len(rows))
		}
		for _, r := range rows {
			if r.Step <= int(resume.Counter) {
				kept = append(kept, r)
			}
		}
	}
	l, err := report.CreateStepLog(path, kept)
	return l, kept, err
}

// logRow turns a training log row into a steps.csv row.
func logRow(r nn.StepLog) report.Step {
	return report.Step{Step: r.Step, Epoch: r.Epoch, Images: r.Images, Loss: r.Loss, Acc: r.Acc, LR: r.LR, GradNorm: r.GradNorm, ImagesPerSecond: r.ImagesPerSecond}
}

// figureEvery is how long a long epoch goes between redraws of
// training.png, so that it shows progress; drawing takes a fraction of a
// second, which a fast epoch should not pay more than once.
const figureEvery = time.Minute

func (r *runWriter) logStep(row nn.StepLog) error {
	s := logRow(row)
	if err := r.steps.Append(s); err != nil {
		return err
	}
	r.stepRows = append(r.stepRows, s)
	if r.drawn.IsZero() {
		r.drawn = time.Now()
	}
	if time.Since(r.drawn) >= figureEvery {
		return r.trainingFigure()
	}
	return nil
}

func (r *runWriter) trainingFigure() error {
	r.drawn = time.Now()
	return report.TrainingPlot(filepath.Join(r.dir, runfolder.TrainingFigure), r.title, r.history, r.stepRows)
}

// readRun reads a run folder's history and training log for a figure. A
// run has at least one of them: one stopped in its first epoch has only
// the log, one from before logs only the history.
func readRun(dir string) (report.Run, error) {
	r := report.Run{Name: filepath.Base(filepath.Clean(dir))}
	var errHistory, errSteps error
	r.Epochs, errHistory = runfolder.ReadHistory(dir)
	r.Steps, errSteps = runfolder.ReadSteps(dir)
	switch {
	case errHistory == nil && (errSteps == nil || errors.Is(errSteps, fs.ErrNotExist)):
		return r, nil
	case errors.Is(errHistory, fs.ErrNotExist) && errSteps == nil:
		return r, nil
	case errHistory != nil && !errors.Is(errHistory, fs.ErrNotExist):
		return r, errHistory
	case errSteps != nil && !errors.Is(errSteps, fs.ErrNotExist):
		return r, errSteps
	}
	return r, fmt.Errorf("%s: no %s or %s (not a run folder, or one whose first epoch has not begun)", dir, runfolder.HistoryFile, runfolder.StepsFile)
}

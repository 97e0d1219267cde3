package vkcnn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
)

// openRunWriter opens the run's training log, keeping a resumed run's
// rows and epochs so far.
func openRunWriter(setup *trainSetup, net *nn.Net, warn io.Writer) (*runWriter, error) {
	steps, stepRows, err := openStepLog(setup.out, setup.resume, warn)
	if err != nil {
		return nil, err
	}
	run := &runWriter{dir: setup.out, model: setup.model, net: net, title: filepath.Base(setup.out), steps: steps, stepRows: stepRows}
	if setup.resume != nil {
		for _, e := range setup.resume.History {
			run.history = append(run.history, historyRow(e))
		}
	}
	return run, nil
}

// hooks print each epoch's line and keep the run folder current: the
// log, the figures and weights after each epoch, and the checkpoint. The
// session's callbacks and ctx can stop the run.
func (r *runWriter) hooks(w io.Writer, cfg nn.TrainConfig, checkpointEvery int, s TrainSession, ctx context.Context) *nn.Hooks {
	stop := false
	return &nn.Hooks{
		Epoch: func(st nn.EpochStats) error {
			r.bar.finish()
			fmt.Fprintln(w, epochLine(st, cfg.Epochs))
			if err := r.epoch(st); err != nil {
				return err
			}
			stop = stop || s.OnEpoch != nil && s.OnEpoch(st)
			return nil
		},
		Log: r.logStep,
		Checkpoint: func(st *nn.TrainState) error {
			// The log first: a checkpoint never runs ahead of it.
			if err := r.steps.Sync(); err != nil {
				return err
			}
			if err := r.net.SaveCheckpoint(filepath.Join(r.dir, runfolder.CheckpointFile), cfg, st); err != nil {
				return fmt.Errorf("write the checkpoint: %w", err)
			}
			r.checkpoint = &checkpointAt{st.Epoch, st.Done}
			return nil
		},
		CheckpointEvery: checkpointEvery,
		Stop:            func() bool { return stop || ctx.Err() != nil },
		Progress: func(p nn.Progress) {
			r.last = p
			if r.draw != nil {
				r.draw(p)
			}
			stop = stop || s.OnProgress != nil && s.OnProgress(p)
		},
	}
}

// failed reports training that ended early: stopped (with the partial
// epoch's line and how to go on), or failed, saying what the run folder
// keeps. training.png shows the log so far either way.
func (r *runWriter) failed(w io.Writer, err error) error {
	r.bar.finish()
	if len(r.stepRows) > 0 {
		err = errors.Join(err, r.trainingFigure())
	}
	if errors.Is(err, nn.ErrStopped) {
		if r.last.Step < r.last.Steps {
			fmt.Fprintln(w, partialEpochLine(r.last, r.net.Batch))
		}
		return &StoppedError{Dir: r.dir}
	}
	return fmt.Errorf("%w; %s", err, r.resumeHint())
}

// resumeHint says where the last checkpoint is and how to go on from it.
func (r *runWriter) resumeHint() string {
	st := r.checkpoint
	if st == nil {
		return fmt.Sprintf("no checkpoint was written: start the run again (or remove %s)", r.dir)
	}
	at := fmt.Sprintf("epoch %d, step %d", st.epoch, st.done)
	if st.done == 0 {
		at = fmt.Sprintf("the end of epoch %d", st.epoch-1)
	}
	return fmt.Sprintf("the last checkpoint, %s, holds %s; continue with vkcnn train --resume %s", filepath.Join(r.dir, runfolder.CheckpointFile), at, r.dir)
}

// stepsLine says how many steps the run takes, so that a short test run
// that is really long shows before it starts.
func stepsLine(cfg nn.TrainConfig, samples int, resume *nn.TrainState) string {
	per := cfg.EpochSteps(samples)
	uncut := cfg
	uncut.StepsPerEpoch = 0
	whole := uncut.EpochSteps(samples)
	line := fmt.Sprintf("%s of %s", numfmt.Plural(cfg.Epochs, "epoch"), numfmt.Plural(per, "step"))
	if per < whole {
		line += fmt.Sprintf(" (--steps-per-epoch; a whole epoch is %s)", numfmt.Commas(whole))
	}
	total := cfg.Epochs * per
	line += fmt.Sprintf(": %s in all", numfmt.Plural(total, "step"))
	if resume != nil {
		line += fmt.Sprintf(", %s to go", numfmt.Commas(total-(resume.Epoch-1)*per-resume.Done))
	}
	return line
}

// epochLine is Keras' one line per epoch.
func epochLine(st nn.EpochStats, epochs int) string {
	line := fmt.Sprintf("Epoch %d/%d - %.0fs - loss: %.4f - acc: %.4f", st.Epoch, epochs, st.Seconds, st.Loss, st.Acc)
	if st.HasVal {
		line += fmt.Sprintf(" - val_loss: %.4f - val_acc: %.4f", st.ValLoss, st.ValAcc)
	}
	line += fmt.Sprintf(" - %.0f img/s", st.ImagesPerSecond)
	if st.Stopped != "" {
		line += " - stopped: " + st.Stopped
	}
	return line
}

// partialEpochLine reports an epoch stopped part way, with the time a
// whole one would take at the rate reached (training only, no validation):
// a time-limited run on a GPU still says how fast it went.
func partialEpochLine(p nn.Progress, batch int) string {
	line := fmt.Sprintf("Epoch %d/%d stopped at step %d/%d - %.0fs - loss: %.4f - acc: %.4f - %.0f img/s",
		p.Epoch, p.Epochs, p.Step, p.Steps, p.Elapsed.Seconds(), p.Loss, p.Acc, p.ImagesPerSecond)
	if p.ImagesPerSecond > 0 {
		line += fmt.Sprintf(" - a whole epoch would take %.0fs", float64(p.Steps*batch)/p.ImagesPerSecond)
	}
	return line
}

// runWriter keeps a run folder current after every epoch.
type runWriter struct {
	dir     string
	title   string
	model   *nn.Model
	net     *nn.Net
	history []report.Epoch
	// The progress bar (draw draws it; nil where none is drawn) and the
	// last progress reported.
	bar  progress
	draw func(nn.Progress)
	last nn.Progress
	// The training log, its rows so far, and when training.png was last
	// drawn.
	steps    *report.StepLog
	stepRows []report.Step
	drawn    time.Time
	// checkpoint is where the run's last checkpoint stands (nil: none).
	checkpoint *checkpointAt
	// record is run.json's, which an early stop rewrites.
	record runfolder.Record
}

// checkpointAt is where a checkpoint stands: the epoch it trains on, and
// the steps of it done (0: the epoch before ended).
type checkpointAt struct{ epoch, done int }

func historyRow(st nn.EpochStats) report.Epoch {
	return report.Epoch{Epoch: st.Epoch, Loss: st.Loss, Acc: st.Acc, ValLoss: st.ValLoss, ValAcc: st.ValAcc, Seconds: st.Seconds}
}

func (r *runWriter) epoch(st nn.EpochStats) error {
	r.history = append(r.history, historyRow(st))
	if st.Stopped != "" {
		r.record.Stopped = &runfolder.Stop{Epoch: st.Epoch, Reason: st.Stopped}
		if err := runfolder.WriteRecord(r.dir, r.record); err != nil {
			return err
		}
	}
	if err := r.saveWeights(); err != nil {
		return err
	}
	if err := report.WriteHistory(filepath.Join(r.dir, runfolder.HistoryFile), r.history); err != nil {
		return err
	}
	if err := report.AccuracyPlot(filepath.Join(r.dir, runfolder.AccuracyFigure), r.title, r.history); err != nil {
		return err
	}
	return r.trainingFigure()
}

func (r *runWriter) saveWeights() error {
	params, err := r.net.Params()
	if err != nil {
		return err
	}
	return r.model.SaveWeights(filepath.Join(r.dir, runfolder.WeightsFile), params)
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

// progress draws a bar per epoch.
type progress struct {
	bar   *progressbar.ProgressBar
	epoch int
}

func (p *progress) update(out io.Writer) func(nn.Progress) {
	return func(pr nn.Progress) {
		if p.bar == nil || p.epoch != pr.Epoch {
			p.finish()
			p.epoch = pr.Epoch
			p.bar = progressbar.NewOptions(pr.Steps, progressbar.OptionSetWriter(out), progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(20), progressbar.OptionClearOnFinish(),
				progressbar.OptionSetDescription(fmt.Sprintf("Epoch %d/%d", pr.Epoch, pr.Epochs)))
		}
		p.bar.Describe(fmt.Sprintf("Epoch %d/%d loss %.4f acc %.4f %.0f img/s", pr.Epoch, pr.Epochs, pr.Loss, pr.Acc, pr.ImagesPerSecond))
		_ = p.bar.Set(pr.Step)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

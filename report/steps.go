package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Step is one row of a training log (steps.csv): the steps since the
// previous row.
type Step struct {
	Step      int     // Adam's iteration count after the row's last step
	Epoch     float64 // epochs done, fractional
	Images    int     // training images seen since the run began
	Loss, Acc float64 // mean training loss and accuracy over the row's steps
	LR        float64 // the learning rate of the row's last step
	// GradNorm is the largest global gradient norm before clipping of the
	// row's steps; 0 (an empty field) where the run does not clip.
	GradNorm        float64
	ImagesPerSecond float64 // over the row's steps
}

// stepsHeader is steps.csv's first line. Images per second stays last,
// where scripts read it; logs written before grad_norm have
// stepsHeaderNoNorm.
var (
	stepsHeader       = []string{"step", "epoch", "images", "loss", "acc", "lr", "grad_norm", "images_per_second"}
	stepsHeaderNoNorm = []string{"step", "epoch", "images", "loss", "acc", "lr", "images_per_second"}
)

func (s Step) record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	norm := ""
	if s.GradNorm != 0 {
		norm = f(s.GradNorm)
	}
	return []string{strconv.Itoa(s.Step), f(s.Epoch), strconv.Itoa(s.Images), f(s.Loss), f(s.Acc), f(s.LR), norm, f(s.ImagesPerSecond)}
}

// StepLog appends rows to a steps.csv file as training goes.
type StepLog struct {
	path string
	f    *os.File
}

// CreateStepLog starts path afresh with the header and rows (what a
// resumed run keeps of its log), written atomically, and opens it for
// appending.
func CreateStepLog(path string, rows []Step) (*StepLog, error) {
	err := atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(stepsHeader); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write(r.record()); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return nil, fmt.Errorf("write training log %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("training log: %w", err)
	}
	return &StepLog{path: path, f: f}, nil
}

// Append adds one row in a single write, so a crash leaves at worst the
// last line torn.
func (l *StepLog) Append(s Step) error {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	if err := cw.Write(s.record()); err != nil {
		return err
	}
	cw.Flush()
	if _, err := l.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("training log %s: %w", l.path, err)
	}
	return nil
}

// Sync makes the rows so far durable: a checkpoint written after it never
// runs ahead of its log.
func (l *StepLog) Sync() error {
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("training log %s: %w", l.path, err)
	}
	return nil
}

// Close closes the file.
func (l *StepLog) Close() error { return l.f.Close() }

// ReadSteps reads a log written by StepLog, or by a vkcnn from before its
// grad_norm column. On a bad row it returns the rows before it with the
// error, which names the file and line: a run that was killed mid-write
// can keep what it had.
func ReadSteps(path string) ([]Step, error) {
	var steps []Step
	header := stepsHeader
	if f, err := os.Open(path); err == nil {
		first, _ := csv.NewReader(f).Read()
		f.Close()
		if slices.Equal(first, stepsHeaderNoNorm) {
			header = stepsHeaderNoNorm
		}
	}
	err := readCSV(path, "training log", header, stepRow(&steps, header))
	return steps, err
}

// stepRow appends the step a row of the log under header holds to steps.
func stepRow(steps *[]Step, header []string) func(rec []string) error {
	return func(rec []string) error {
		var s Step
		var err error
		for i, name := range header {
			switch name {
			case "step", "images":
				dst := map[string]*int{"step": &s.Step, "images": &s.Images}[name]
				if *dst, err = strconv.Atoi(rec[i]); err != nil {
					return fmt.Errorf("%s %q is not an integer", name, rec[i])
				}
			default:
				dst := map[string]*float64{"epoch": &s.Epoch, "loss": &s.Loss, "acc": &s.Acc, "lr": &s.LR,
					"grad_norm": &s.GradNorm, "images_per_second": &s.ImagesPerSecond}[name]
				if name == "grad_norm" && rec[i] == "" {
					continue // the run does not clip
				}
				if *dst, err = strconv.ParseFloat(rec[i], 64); err != nil {
					return fmt.Errorf("%s %q is not a number", name, rec[i])
				}
			}
		}
		if n := len(*steps); n > 0 && s.Step <= (*steps)[n-1].Step {
			return fmt.Errorf("step %d after step %d", s.Step, (*steps)[n-1].Step)
		}
		*steps = append(*steps, s)
		return nil
	}
}

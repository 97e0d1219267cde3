package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Step is one row of a training log (steps.csv): the steps since the
// previous row.
type Step struct {
	Step            int     // Adam's iteration count after the row's last step
	Epoch           float64 // epochs done, fractional
	Images          int     // training images seen since the run began
	Loss, Acc       float64 // mean training loss and accuracy over the row's steps
	LR              float64 // the learning rate
	ImagesPerSecond float64 // over the row's steps
}

// stepsHeader is steps.csv's first line.
var stepsHeader = []string{"step", "epoch", "images", "loss", "acc", "lr", "images_per_second"}

func (s Step) record() []string {
	row := []string{strconv.Itoa(s.Step), strconv.FormatFloat(s.Epoch, 'g', -1, 64), strconv.Itoa(s.Images)}
	for _, v := range []float64{s.Loss, s.Acc, s.LR, s.ImagesPerSecond} {
		row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return row
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

// ReadSteps reads a log written by StepLog. On a bad row it returns the
// rows before it with the error, which names the file and line: a run
// that was killed mid-write can keep what it had.
func ReadSteps(path string) ([]Step, error) {
	var steps []Step
	err := readCSV(path, "training log", stepsHeader, stepRow(&steps))
	return steps, err
}

// stepRow appends the step a row of the log holds to steps.
func stepRow(steps *[]Step) func(rec []string) error {
	return func(rec []string) error {
		var s Step
		var err error
		for i, dst := range []*int{0: &s.Step, 2: &s.Images} {
			if dst != nil {
				if *dst, err = strconv.Atoi(rec[i]); err != nil {
					return fmt.Errorf("%s %q is not an integer", stepsHeader[i], rec[i])
				}
			}
		}
		for i, dst := range []*float64{1: &s.Epoch, 3: &s.Loss, 4: &s.Acc, 5: &s.LR, 6: &s.ImagesPerSecond} {
			if dst != nil {
				if *dst, err = strconv.ParseFloat(rec[i], 64); err != nil {
					return fmt.Errorf("%s %q is not a number", stepsHeader[i], rec[i])
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

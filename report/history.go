package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// Epoch is one row of a training history: the epoch number (from 1), the
// training loss and accuracy, the validation loss and accuracy, and the
// epoch's wall-clock seconds.
type Epoch struct {
	Epoch                      int
	Loss, Acc, ValLoss, ValAcc float64
	Seconds                    float64
}

// historyHeader is history.csv's first line; Keras' CSVLogger names.
var historyHeader = []string{"epoch", "loss", "acc", "val_loss", "val_acc", "seconds"}

// WriteHistory writes epochs to path as CSV, atomically. Floats are written
// in the shortest form that parses back to the same bits (NaN and ±Inf
// included, as a diverged run produces them).
func WriteHistory(path string, epochs []Epoch) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(historyHeader); err != nil {
			return err
		}
		for _, e := range epochs {
			row := []string{strconv.Itoa(e.Epoch)}
			for _, v := range []float64{e.Loss, e.Acc, e.ValLoss, e.ValAcc, e.Seconds} {
				row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("write history %s: %w", path, err)
	}
	return nil
}

// ReadHistory reads a history written by WriteHistory. Errors name the file
// and, for a bad row, its line and field.
func ReadHistory(path string) ([]Epoch, error) {
	var epochs []Epoch
	err := readCSV(path, "history", historyHeader, func(rec []string) error {
		e := Epoch{}
		var err error
		if e.Epoch, err = strconv.Atoi(rec[0]); err != nil {
			return fmt.Errorf("epoch %q is not an integer", rec[0])
		}
		for i, dst := range []*float64{&e.Loss, &e.Acc, &e.ValLoss, &e.ValAcc, &e.Seconds} {
			if *dst, err = strconv.ParseFloat(rec[i+1], 64); err != nil {
				return fmt.Errorf("%s %q is not a number", historyHeader[i+1], rec[i+1])
			}
		}
		epochs = append(epochs, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return epochs, nil
}

// readCSV reads a CSV file whose first line must be header, passing each
// row to row in order. Errors name the file (as what) and, for a bad row,
// its line.
func readCSV(path, what string, header []string, row func(rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	if err := scanCSV(f, header, row); err != nil {
		return fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return nil
}

func scanCSV(r io.Reader, header []string, row func(rec []string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // counted below, for a clearer message
	got, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("empty file, want the header line")
	}
	if err != nil {
		return err
	}
	if !slices.Equal(got, header) {
		return fmt.Errorf("line 1: header %q, want %q", got, header)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return fmt.Errorf("line %d: %d fields, want %d", line, len(rec), len(header))
		}
		if err := row(rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

package vkcnn

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
)

// DefaultEvalBatch is the batch of an evaluation given none (vkcnn eval's
// --batch-size).
const DefaultEvalBatch = 100

// EvalOptions say how Evaluate tests a run.
type EvalOptions struct {
	// Data is the data set's folder or file, as TrainSession.Data; an
	// image folder is read as the run read it, and a single tree of class
	// folders is tested on the part the run held out.
	Data string
	// Batch is the samples a step (0: DefaultEvalBatch).
	Batch     int
	Precision kernels.Precision
	// Logits keeps every test sample's outputs before the softmax.
	Logits bool
	// Stream keeps the test set on the host, as TrainSession.Stream; a
	// set that would not fit the device streams without it.
	Stream bool
	// Warnings and Bars are as a TrainSession's.
	Warnings io.Writer
	Bars     bool
}

// Evaluation is a run's result on its data set's test set.
type Evaluation struct {
	// Data describes the data set, as vkcnn eval's "Data:" line.
	Data string
	// Streamed, where the test set streamed, is the line saying so
	// (vkcnn eval's "Streamed:"); else empty.
	Streamed string
	// Names are the classes' names where the data set has them.
	Names     []string
	Loss, Acc float64
	// Confusion counts the test samples by true class (rows) and
	// predicted class (columns).
	Confusion [][]int
	// Logits are the test samples' outputs, in test-file order, where
	// EvalOptions.Logits asks.
	Logits [][]float32
}

// Evaluate tests a run on the test set of its data set, as vkcnn eval
// does: loss, accuracy and the confusion matrix.
func (d *Device) Evaluate(r *Run, opts EvalOptions) (_ *Evaluation, err error) {
	batch := opts.Batch
	if batch == 0 {
		batch = DefaultEvalBatch
	}
	if batch < 0 {
		return nil, badInput(fmt.Errorf("batch size %d must be positive", batch))
	}
	// An image folder is read as the run read it (a single tree: the
	// test set is the part it held out).
	dataOpts, err := recordedOptions(r.Record)
	if err != nil {
		return nil, badInput(err)
	}
	data, err := loadData(TrainSession{Data: opts.Data, Warnings: opts.Warnings, Bars: opts.Bars}, dataOpts)
	if err != nil {
		return nil, badInput(err)
	}
	defer func() { err = errors.Join(err, data.Close()) }()
	if err := checkModel(filepath.Join(r.Dir, runfolder.ModelFile), r.Model, data); err != nil {
		return nil, badInput(err)
	}
	test := data.Test
	if err := checkPrecision(d.ctx.Info, opts.Precision); err != nil {
		return nil, err
	}
	tuning, err := kernels.LoadTuning(d.ctx.Info, opts.Precision)
	if err != nil {
		fmt.Fprintf(writer(opts.Warnings), "vkcnn: warning: %v; using the default kernels\n", err)
	}
	// The test set streams as training would stream it; the memory check
	// counts it where it is resident.
	stream, resident := streamed(opts.Stream, d.ctx.Info, r.Model.Input(), test.N, test.N), test.N
	if stream {
		resident = 0
	}
	net, err := nn.NewNet(d.ctx, r.Model, batch, tuning, r.Params, resident)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	set, err := upload(net, test, stream)
	if err != nil {
		return nil, err
	}
	set.Norm = r.Record.Normalize
	classes := r.Model.Classes
	e := &Evaluation{Data: data.String(), Names: data.Names, Confusion: make([][]int, classes)}
	if stream {
		e.Streamed = streamedLine([2]bool{false, true}, 0)
	}
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, classes)
	}
	e.Loss, e.Acc, err = nn.Evaluate(net, set, nil, func(batch []int) error {
		pred, err := net.Predictions()
		if err != nil {
			return err
		}
		for i, idx := range batch {
			e.Confusion[min(int(test.Labels[idx]), classes-1)][pred[i]]++
		}
		if !opts.Logits {
			return nil
		}
		z, err := net.Logits()
		if err != nil {
			return err
		}
		for i := range batch {
			e.Logits = append(e.Logits, z[i*classes:(i+1)*classes])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate %s on the test set: %w (nothing written)", r.Dir, err)
	}
	return e, nil
}

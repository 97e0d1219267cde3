package vkcnn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/keras"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

// Train trains a model as vkcnn train does, writing the run folder as it
// goes, and returns the trained run. Cancelling ctx stops it after the
// step under way, with a checkpoint written: the error is a
// *StoppedError, and the run is returned too, with its last epoch's
// weights, where an epoch has ended. Cancelled before training begins,
// it returns ctx's error, and leaves no run folder it made.
func Train(ctx context.Context, opts TrainOptions) (*Run, error) {
	setup, err := newTrainSetup(opts)
	if err != nil {
		return nil, badInput(err)
	}
	return setup.train(ctx)
}

// Config is the training configuration opts come to, checked: the
// preset's recipe filled in where they leave it out.
func (opts TrainOptions) Config() (nn.TrainConfig, error) {
	setup, err := newTrainSetup(opts)
	if err != nil {
		return nn.TrainConfig{}, badInput(err)
	}
	return setup.cfg, nil
}

// Resume continues the run in opts.Dir from its checkpoint, with its own
// settings, bit for bit as if it had not stopped; a run that has nothing
// left to do returns an error matching ErrFinished.
func Resume(ctx context.Context, opts ResumeOptions) (*Run, error) {
	setup, err := resumeSetup(opts)
	if err != nil {
		return nil, badInput(err)
	}
	return setup.train(ctx)
}

func resumeSetup(opts ResumeOptions) (*trainSetup, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	dir := opts.Dir
	data, err := os.ReadFile(filepath.Join(dir, runfolder.ModelFile))
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", dir, err)
	}
	spec, err := nn.ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", dir, err)
	}
	model, err := nn.Build(spec)
	if err != nil {
		return nil, err
	}
	params, state1, state2, cfg, st, err := model.LoadCheckpoint(filepath.Join(dir, runfolder.CheckpointFile))
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if epochs := opts.Epochs; epochs != 0 {
		if epochs < 0 {
			return nil, fmt.Errorf("epochs %d must be positive", epochs)
		}
		if epochs != cfg.Epochs && cfg.Schedule.FitsRunLength() {
			return nil, fmt.Errorf("--resume %s: its %s schedule is fitted to its %s: --epochs %d would move the rates of the steps it has taken",
				dir, cfg.Schedule.Name, numfmt.Plural(cfg.Epochs, "epoch"), epochs)
		}
		cfg.Epochs = epochs
	}
	if st.Stopped != "" {
		return nil, errFinished{dir: dir, epochs: st.Epoch - 1, stopped: st.Stopped}
	}
	if st.Epoch > cfg.Epochs {
		return nil, errFinished{dir: dir, epochs: cfg.Epochs}
	}
	return &trainSetup{TrainSession: opts.TrainSession, spec: spec, model: model, source: filepath.Join(dir, runfolder.ModelFile), cfg: cfg, out: dir,
		resume: st, params: params, state1: state1, state2: state2}, nil
}

func newTrainSetup(opts TrainOptions) (*trainSetup, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if opts.Model == "" {
		opts.Model = DefaultModel
	}
	warn := func(line string) { fmt.Fprintf(writer(opts.Warnings), "vkcnn: warning: %s\n", line) }
	spec, err := keras.Load(opts.Model, keras.Options{Lenient: opts.Lenient, Warn: warn})
	if err != nil {
		return nil, err
	}
	if opts.Dropout != nil {
		if spec, err = spec.WithDropout(*opts.Dropout); err != nil {
			return nil, fmt.Errorf("--dropout %g: %w", *opts.Dropout, err)
		}
	}
	model, err := nn.Build(spec)
	if err != nil {
		return nil, err
	}
	if err := opts.Augment.Check(); err != nil {
		return nil, err
	}
	// A preset's defaults fill in only what the options leave out.
	preset, _ := nn.PresetTraining(opts.Model)
	batch := DefaultBatchSize
	switch {
	case opts.BatchSize != nil:
		batch = *opts.BatchSize
	case preset.BatchSize != 0:
		batch = preset.BatchSize
	}
	opt, schedule, err := recipeConfig(opts.Optimizer, opts.Schedule, preset)
	if err != nil {
		return nil, err
	}
	lr := DefaultLR
	switch {
	case opts.LR != nil:
		lr = *opts.LR
	case preset.LR != 0 && (preset.Optimizer.Name == "" || preset.Optimizer.Name == opt.Name):
		lr = preset.LR
	}
	stopping, err := earlyStopping(opts.EarlyStopping)
	if err != nil {
		return nil, err
	}
	if err := checkNormalize(opts); err != nil {
		return nil, err
	}
	cfg := nn.TrainConfig{
		Epochs: opts.Epochs, BatchSize: batch, StepsPerEpoch: opts.StepsPerEpoch, LR: lr, Optimizer: opt, Schedule: schedule, EarlyStopping: stopping, LabelSmoothing: opts.LabelSmoothing,
		Seed: opts.Seed, Shuffle: !opts.NoShuffle, Augment: opts.Augment, ValSplit: opts.ValSplit, KeepBest: opts.KeepBest,
		LogEvery: opts.LogEvery, Precision: opts.Precision,
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	out := opts.Out
	if out == "" {
		name := spec.Name
		if name == "" {
			name = "model"
		}
		out = filepath.Join("runs", name+"-"+time.Now().Format("20060102-150405"))
	}
	return &trainSetup{TrainSession: opts.TrainSession, spec: spec, model: model, source: opts.Model, cfg: cfg, out: out, init: opts.Init,
		imageOpts: dataset.Options{Size: opts.ImageSize, Color: opts.Color}, normalize: opts.Normalize, mean: opts.Mean, std: opts.Std}, nil
}

// check refuses what no run takes.
func (s TrainSession) check() error {
	if s.CheckpointEvery < 0 {
		return fmt.Errorf("--checkpoint-every %d must not be negative", s.CheckpointEvery)
	}
	return nil
}

// errFinished is a run that --resume finds finished: nothing to do, and
// no failure, so that a scheduler that runs a killed job again sees it
// end well.
type errFinished struct {
	dir    string
	epochs int
	// stopped says why early stopping ended it, if it did.
	stopped string
}

func (e errFinished) Error() string {
	if e.stopped != "" {
		return fmt.Sprintf("the run in %s stopped after epoch %d (%s); nothing to do", e.dir, e.epochs, e.stopped)
	}
	return fmt.Sprintf("the run in %s finished its %d epochs; nothing to do (raise --epochs to train on)", e.dir, e.epochs)
}

func (e errFinished) Is(target error) bool { return target == ErrFinished }

// notStopped says that ctx was cancelled before training began (reading
// the data set or building the network can take minutes): nothing
// trained, and a fresh run folder is removed.
func notStopped(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped before training began: %w", err)
	}
	return nil
}

func (setup *trainSetup) train(stopCtx context.Context) (_ *Run, err error) {
	data, err := setup.trainingData()
	if err != nil {
		return nil, badInput(err)
	}
	defer func() { err = errors.Join(err, data.Close()) }()
	if err := notStopped(stopCtx); err != nil {
		return nil, err
	}
	norm, err := setup.normalization(data)
	if err != nil {
		return nil, badInput(err)
	}
	fresh, err := setup.startRunFolder()
	if err != nil {
		return nil, badInput(err)
	}
	// A run that fails before it trains leaves no folder it made behind:
	// nothing in it could resume, and --resume would misread it.
	training := false
	defer func() {
		if err != nil && fresh && !training {
			err = errors.Join(err, os.RemoveAll(setup.out))
		}
	}()
	params, err := setup.startParams()
	if err != nil {
		return nil, badInput(err)
	}
	warnings := writer(setup.Warnings)
	devOpts := setup.Device
	if devOpts.Warn == nil {
		devOpts.Warn = func(err error) { fmt.Fprintf(warnings, "vkcnn: warning: %v\n", err) }
	}
	dev, err := OpenDevice(devOpts)
	if err != nil {
		return nil, err
	}
	ctx := dev.ctx
	defer func() { err = errors.Join(err, dev.Close()) }()
	// The sets that stream are not counted in the memory check.
	in, total := setup.model.Input(), data.Train.N+data.Test.N
	stream := [2]bool{streamed(setup.Stream, ctx.Info, in, data.Train.N, total), streamed(setup.Stream, ctx.Info, in, data.Test.N, total)}
	resident := 0
	for i, set := range []*dataset.Set{data.Train, data.Test} {
		if !stream[i] {
			resident += set.N
		}
	}
	net, err := setup.trainingNet(ctx, params, resident)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	onDevice, err := uploadData(net, setup.cfg, data.Train, data.Test, stream)
	if err != nil {
		return nil, err
	}
	onDevice.train.Norm = norm
	if onDevice.val != nil {
		onDevice.val.Norm = norm
	}
	w := writer(setup.Log)
	fmt.Fprintf(w, "Training %s (%s parameters) on %s, batch %d, %s; writing %s\n",
		setup.model.Spec.Name, numfmt.Commas(setup.model.CountParams()), ctx.Info.Name, net.Batch, onDevice.valDesc, setup.out)
	fmt.Fprintf(w, "Data: %s\n", data)
	if stream[0] || stream[1] && setup.cfg.ValSplit == 0 {
		fmt.Fprintln(w, streamedLine(stream, setup.cfg.ValSplit))
	}
	if norm != nil {
		fmt.Fprintf(w, "Normalized: (x - %v) / %v per channel, x in [0, 1]\n", norm.Mean, norm.Std)
	}
	fmt.Fprintln(w, stepsLine(setup.cfg, onDevice.samples, setup.resume))

	record := runfolder.Record{Model: setup.spec.Name, Config: setup.cfg, Data: recordData(data), Normalize: norm,
		Device: ctx.Info.Name, Driver: deviceDriver(ctx.Info)}
	if err := runfolder.WriteRecord(setup.out, record); err != nil {
		return nil, err
	}
	run, err := openRunWriter(setup, net, warnings)
	if err != nil {
		return nil, err
	}
	run.record = record
	defer run.steps.Close()
	if setup.resume != nil {
		fmt.Fprintf(w, "Resuming at epoch %d, step %d\n", setup.resume.Epoch, setup.resume.Done+1)
		run.checkpoint = &checkpointAt{setup.resume.Epoch, setup.resume.Done}
	}
	hooks := run.hooks(w, setup.cfg, setup.CheckpointEvery, setup.TrainSession, stopCtx)
	if setup.Bars {
		run.draw = run.bar.update(warnings)
	}
	if err := notStopped(stopCtx); err != nil {
		return nil, err
	}
	training = true
	if _, err := nn.Train(net, onDevice.train, onDevice.val, setup.cfg, hooks, setup.resume); err != nil {
		err = run.failed(w, err)
		if stopped, loadErr := LoadRun(setup.out); errors.Is(err, ErrStopped) && loadErr == nil {
			return stopped, err
		}
		return nil, err
	}
	if setup.cfg.KeepBest {
		if err := run.saveWeights(); err != nil {
			return nil, err
		}
	}
	keep := "last"
	if setup.cfg.KeepBest {
		keep = "best"
	}
	fmt.Fprintf(w, "Wrote %s: model.json, run.json, weights.safetensors (%s epoch), history.csv, steps.csv, accuracy.png, training.png\n", setup.out, keep)
	return LoadRun(setup.out)
}

// startRunFolder makes the run folder and writes its model.json: before
// the device, so that a bad --out fails before minutes of setup; fresh
// says it made the folder. A resumed run's folder loses the temporary files a killed
// writer left.
func (setup *trainSetup) startRunFolder() (fresh bool, err error) {
	if setup.resume != nil {
		return false, atomicfile.Clean(setup.out)
	}
	if _, err := os.Stat(setup.out); errors.Is(err, fs.ErrNotExist) {
		fresh = true
	}
	if err := os.MkdirAll(setup.out, 0o755); err != nil {
		return false, fmt.Errorf("create run folder: %w", err)
	}
	return fresh, runfolder.WriteModel(setup.out, setup.spec)
}

// startParams are the weights training starts from: the checkpoint's on
// resuming, else --init's, else the model's initialisation.
func (setup *trainSetup) startParams() ([]float32, error) {
	if setup.resume != nil {
		return setup.params, nil
	}
	if setup.init != "" {
		return setup.model.LoadWeights(setup.init)
	}
	return setup.model.Init(setup.cfg.Seed), nil
}

// trainingNet builds the network with the run's kernels and, on resuming,
// the optimizer's state from the checkpoint.
func (setup *trainSetup) trainingNet(ctx *vk.Context, params []float32, samples int) (*nn.Net, error) {
	tuning, err := setup.runTuning(ctx)
	if err != nil {
		return nil, err
	}
	net, err := nn.NewNet(ctx, setup.model, setup.cfg.BatchSize, tuning, params, samples)
	if err != nil {
		return nil, err
	}
	if setup.resume != nil {
		if err := net.SetOptimizerState(setup.state1, setup.state2); err != nil {
			net.Close()
			return nil, err
		}
	}
	return net, nil
}

// runTuning is the kernels a run trains with at its precision: on
// resuming, those its folder recorded (the cached tuning may have changed
// since, and another variant sums in another order); else the cached
// tuning's, recorded now.
func (setup *trainSetup) runTuning(ctx *vk.Context) (kernels.Tuning, error) {
	path := filepath.Join(setup.out, runfolder.KernelsFile)
	prec := setup.cfg.Precision
	warnings := writer(setup.Warnings)
	if setup.resume != nil {
		t, err := kernels.LoadRunKernels(path, ctx.Info)
		if err == nil && t.Precision() != prec {
			err = fmt.Errorf("%s records the precision %s, the checkpoint %s", path, t.Precision(), prec)
		}
		if err == nil {
			fmt.Fprintf(warnings, "vkcnn: kernels as recorded in %s\n", path)
			return t, checkPrecision(ctx.Info, prec)
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, kernels.ErrOtherDevice) {
			return kernels.Tuning{}, err
		}
		fmt.Fprintf(warnings, "vkcnn: warning: %v; kernels chosen afresh, so the resumed run may differ in the last bits from an uninterrupted one\n", err)
	}
	if err := checkPrecision(ctx.Info, prec); err != nil {
		return kernels.Tuning{}, err
	}
	t, err := kernels.LoadTuning(ctx.Info, prec)
	if err != nil {
		fmt.Fprintf(warnings, "vkcnn: warning: %v; using the default kernels\n", err)
	}
	_, products := nn.Products(setup.model, setup.cfg.BatchSize)
	return t, kernels.SaveRunKernels(path, t, products)
}

// checkPrecision says why the device cannot run a precision.
func checkPrecision(info vk.DeviceInfo, prec kernels.Precision) error {
	if err := kernels.CheckPrecision(info, prec); err != nil {
		return badInput(fmt.Errorf("--precision %s: %w", prec, err))
	}
	return nil
}

func deviceDriver(info vk.DeviceInfo) string {
	if info.DriverInfo == "" {
		return info.DriverName
	}
	return info.DriverName + " " + info.DriverInfo
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/internal/numfmt"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

// augmentFlags are shared by train and augment.
func augmentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Float64Flag{Name: "shift", Usage: "random shift of up to F x the width across and F x the height down (Keras 2.0.6's width/height_shift_range)"},
		&cli.IntFlag{Name: "shift-px", Aliases: []string{"crop-pad"}, Usage: "random whole-pixel shift of up to P pixels on each axis (the capsule paper's); " +
			"as --crop-pad P, torchvision's RandomCrop(size, padding=P): zero padding, or padding_mode=\"edge\" with --fill nearest"},
		&cli.Float64Flag{Name: "rotate", Usage: "random rotation of up to DEG degrees"},
		&cli.Float64Flag{Name: "zoom", Usage: "random zoom by a factor in [1-Z, 1+Z]"},
		&cli.StringFlag{Name: "fill", Usage: "outside the image: nearest (default with --shift) or constant (default with --shift-px)"},
		&cli.StringFlag{Name: "interp", Value: "nearest", Usage: "how a transform reads the image: nearest (the nearest pixel, as Keras 2.0.6 and SciPy's order=0) or bilinear"},
		&cli.StringFlag{Name: "flip", Usage: "mirror each image with probability 1/2: horizontal (torchvision's RandomHorizontalFlip), vertical, or both (each axis on its own), after the shift"},
	}
}

func augmentConfig(c *cli.Context) (augment.Config, error) {
	interp, err := augment.ParseInterp(c.String("interp"))
	if err != nil {
		return augment.Config{}, err
	}
	flip, err := augment.ParseFlip(c.String("flip"))
	if err != nil {
		return augment.Config{}, err
	}
	cfg := augment.Config{ShiftFrac: c.Float64("shift"), ShiftPx: c.Int("shift-px"), RotateDeg: c.Float64("rotate"), Zoom: c.Float64("zoom"), Interp: interp, Flip: flip}
	if f := c.String("fill"); f != "" {
		fill, err := augment.ParseFill(f)
		if err != nil {
			return cfg, err
		}
		cfg.Fill, cfg.FillSet = fill, true
	}
	return cfg, cfg.Check()
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a model on a data set (MNIST by default) and write the run's files to --out",
		Description: "Says first how many steps the run takes (--epochs x --steps-per-epoch).\n" +
			"Writes OUT/model.json, OUT/run.json (settings, device), OUT/kernels.json (the\n" +
			"kernels it trains with, which --resume runs again), OUT/weights.safetensors\n" +
			"(Keras names and layouts), OUT/history.csv, OUT/accuracy.png and\n" +
			"OUT/checkpoint.safetensors after every epoch, and OUT/steps.csv (training loss,\n" +
			"accuracy and speed every --log-every steps) with OUT/training.png as it goes.\n" +
			"First checks the model's input_shape and last layer against the data set.\n" +
			"Validates after each epoch on the test set, or with --val-split on the\n" +
			"last part of the training set. A single tree of class folders is shuffled\n" +
			"with --seed first and needs --val-split: its held-out part is its test set,\n" +
			"which eval tests. Ctrl-C (or SIGTERM) finishes the current step,\n" +
			"writes the checkpoint and exits with status 130; --resume OUT continues.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Value: "standard", Usage: "standard, small (both for 28x28x1 images of 10 classes), resnet20, mobilenet (for the data set's images and classes), or a model file: model.json, or Keras' model.to_json() JSON or .keras archive"},
			lenientFlag,
			&cli.IntFlag{Name: "epochs", Value: 20, Usage: "passes over the training set"},
			&cli.IntFlag{Name: "batch-size", Value: 64, Usage: "samples a step (the small preset: 32, resnet20 and mobilenet: 128)"},
			&cli.Float64Flag{Name: "lr", Value: 5e-4, Usage: "the learning rate, which --lr-schedule moves (the small preset and mobilenet: 1e-3; resnet20: 0.1, its recipe's SGD rate, which another --optimizer does not take)"},
			&cli.Float64Flag{Name: "dropout", Usage: "override the rate of every dropout layer"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of initialisation, shuffling, augmentation and dropout"},
			&cli.IntFlag{Name: "steps-per-epoch", Usage: "stop each epoch after N steps (0: the whole epoch), as Keras' steps_per_epoch"},
			&cli.IntFlag{Name: "steps", Hidden: true, Usage: "the old name of --steps-per-epoch"},
			&cli.BoolFlag{Name: "no-shuffle", Usage: "keep the training set in file order"},
			&cli.StringFlag{Name: "init", Usage: "start from these weights (a weights.safetensors of the same model)"},
			&cli.Float64Flag{Name: "val-split", Usage: "validate on this last fraction of the training set; the test set is then left to eval"},
			&cli.StringFlag{Name: "keep", Value: "last", Usage: "weights to keep: last, or best (lowest validation loss)"},
			&cli.StringFlag{Name: "out", Usage: "run folder (default: runs/MODEL-DATE-TIME)"},
			&cli.IntFlag{Name: "checkpoint-every", Usage: "also write OUT/checkpoint.safetensors every N steps (it is written after every epoch)"},
			&cli.IntFlag{Name: "log-every", Usage: "write a row of OUT/steps.csv every N steps", DefaultText: "about 100 rows an epoch"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in this folder from its checkpoint, with its own settings (--epochs may raise the total)"},
			precisionFlag,
			dataFlag,
			streamFlag,
			deviceFlag,
		}, slices.Concat(recipeFlags(), augmentFlags(), imageFlags(), normalizeFlags())...),
		OnUsageError: usageError,
		Action:       train,
	}
}

// trainSetup is everything train checks before it touches data or device.
type trainSetup struct {
	spec  nn.ModelSpec
	model *nn.Model
	// source is where the model comes from: a preset's name or a file.
	source string
	cfg    nn.TrainConfig
	out    string
	// When resuming: where the run stands, with its weights and the
	// optimizer's state.
	resume                 *nn.TrainState
	params, state1, state2 []float32
}

// resumeKeeps are the flags --resume accepts; the rest come from the run.
var resumeKeeps = map[string]bool{"resume": true, "epochs": true, "data": true, "device": true, "checkpoint-every": true, "stream": true}

func parseResume(c *cli.Context, dir string) (*trainSetup, error) {
	for _, name := range c.LocalFlagNames() {
		if !resumeKeeps[name] {
			return nil, fmt.Errorf("--resume continues with the run's own settings: drop --%s", name)
		}
	}
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
	if c.IsSet("epochs") {
		epochs := c.Int("epochs")
		if epochs <= 0 {
			return nil, fmt.Errorf("epochs %d must be positive", epochs)
		}
		if epochs != cfg.Epochs && cfg.Schedule.FitsRunLength() {
			return nil, fmt.Errorf("--resume %s: its %s schedule is fitted to its %s: --epochs %d would move the rates of the steps it has taken",
				dir, cfg.Schedule.Name, plural(cfg.Epochs, "epoch"), epochs)
		}
		cfg.Epochs = epochs
	}
	if st.Stopped != "" {
		return nil, errFinished{dir: dir, epochs: st.Epoch - 1, stopped: st.Stopped}
	}
	if st.Epoch > cfg.Epochs {
		return nil, errFinished{dir: dir, epochs: cfg.Epochs}
	}
	return &trainSetup{spec: spec, model: model, source: filepath.Join(dir, runfolder.ModelFile), cfg: cfg, out: dir, resume: st, params: params, state1: state1, state2: state2}, nil
}

func parseTrainFlags(c *cli.Context) (*trainSetup, error) {
	if c.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", c.Args().First())
	}
	if c.Int("checkpoint-every") < 0 {
		return nil, fmt.Errorf("--checkpoint-every %d must not be negative", c.Int("checkpoint-every"))
	}
	if dir := c.String("resume"); dir != "" {
		return parseResume(c, dir)
	}
	spec, err := loadSpec(c)
	if err != nil {
		return nil, err
	}
	if c.IsSet("dropout") {
		if spec, err = spec.WithDropout(c.Float64("dropout")); err != nil {
			return nil, fmt.Errorf("--dropout %g: %w", c.Float64("dropout"), err)
		}
	}
	model, err := nn.Build(spec)
	if err != nil {
		return nil, err
	}
	aug, err := augmentConfig(c)
	if err != nil {
		return nil, err
	}
	keep := c.String("keep")
	if keep != "last" && keep != "best" {
		return nil, fmt.Errorf("--keep %q: last or best", keep)
	}
	// A preset's defaults fill in only what the flags leave out.
	preset, _ := nn.PresetTraining(c.String("model"))
	batch := c.Int("batch-size")
	if !c.IsSet("batch-size") && preset.BatchSize != 0 {
		batch = preset.BatchSize
	}
	steps, err := stepsPerEpoch(c)
	if err != nil {
		return nil, err
	}
	prec, err := flagPrecision(c)
	if err != nil {
		return nil, err
	}
	opt, schedule, err := recipeConfig(c, preset)
	if err != nil {
		return nil, err
	}
	lr := c.Float64("lr")
	if !c.IsSet("lr") && preset.LR != 0 && (preset.Optimizer.Name == "" || preset.Optimizer.Name == opt.Name) {
		lr = preset.LR
	}
	stopping, err := earlyStopping(c)
	if err != nil {
		return nil, err
	}
	cfg := nn.TrainConfig{
		Epochs: c.Int("epochs"), BatchSize: batch, StepsPerEpoch: steps, LR: lr, Optimizer: opt, Schedule: schedule, EarlyStopping: stopping, LabelSmoothing: c.Float64("label-smoothing"),
		Seed: c.Uint64("seed"), Shuffle: !c.Bool("no-shuffle"), Augment: aug, ValSplit: c.Float64("val-split"), KeepBest: keep == "best",
		LogEvery: c.Int("log-every"), Precision: prec,
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if c.IsSet("steps") {
		fmt.Fprintf(c.App.ErrWriter, "vkcnn: note: --steps is the old name of --steps-per-epoch: at most %s in each of %s\n",
			plural(steps, "step"), plural(cfg.Epochs, "epoch"))
	}
	out := c.String("out")
	if out == "" {
		name := spec.Name
		if name == "" {
			name = "model"
		}
		out = filepath.Join("runs", name+"-"+time.Now().Format("20060102-150405"))
	}
	return &trainSetup{spec: spec, model: model, source: c.String("model"), cfg: cfg, out: out}, nil
}

// stepsPerEpoch reads --steps-per-epoch or its old name, --steps, which
// some took for the run's steps.
func stepsPerEpoch(c *cli.Context) (int, error) {
	if !c.IsSet("steps") {
		return c.Int("steps-per-epoch"), nil
	}
	if c.IsSet("steps-per-epoch") {
		return 0, errors.New("--steps is the old name of --steps-per-epoch: give one of them")
	}
	return c.Int("steps"), nil
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

func train(c *cli.Context) (err error) {
	setup, err := parseTrainFlags(c)
	var finished errFinished
	if errors.As(err, &finished) {
		fmt.Fprintf(c.App.ErrWriter, "vkcnn: %v\n", finished)
		return nil
	}
	if err != nil {
		return err
	}
	data, err := trainingData(c, setup)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, data.Close()) }()
	norm, err := normalization(c, setup, data)
	if err != nil {
		return err
	}
	fresh, err := startRunFolder(setup)
	if err != nil {
		return err
	}
	// A run that fails before it trains leaves no folder it made behind:
	// nothing in it could resume, and --resume would misread it.
	training := false
	defer func() {
		if err != nil && fresh && !training {
			err = errors.Join(err, os.RemoveAll(setup.out))
		}
	}()
	params, err := startParams(c, setup)
	if err != nil {
		return err
	}
	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	// The sets that stream are not counted in the memory check.
	in, total := setup.model.Input(), data.Train.N+data.Test.N
	stream := [2]bool{streamed(c, ctx.Info, in, data.Train.N, total), streamed(c, ctx.Info, in, data.Test.N, total)}
	resident := 0
	for i, set := range []*dataset.Set{data.Train, data.Test} {
		if !stream[i] {
			resident += set.N
		}
	}
	net, err := trainingNet(c, ctx, setup, params, resident)
	if err != nil {
		return err
	}
	defer net.Close()
	onDevice, err := uploadData(net, setup.cfg, data.Train, data.Test, stream)
	if err != nil {
		return err
	}
	onDevice.train.Norm = norm
	if onDevice.val != nil {
		onDevice.val.Norm = norm
	}
	w := c.App.Writer
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
		return err
	}
	run, err := openRunWriter(setup, net, c.App.ErrWriter)
	if err != nil {
		return err
	}
	run.record = record
	defer run.steps.Close()
	if setup.resume != nil {
		fmt.Fprintf(w, "Resuming at epoch %d, step %d\n", setup.resume.Epoch, setup.resume.Done+1)
		run.checkpoint = &checkpointAt{setup.resume.Epoch, setup.resume.Done}
	}
	stop := interrupts()
	defer stop.release()
	hooks := run.hooks(w, setup.cfg, c.Int("checkpoint-every"), stop.requested)
	if f, ok := c.App.ErrWriter.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		run.draw = run.bar.update(f)
	}
	training = true
	if _, err := nn.Train(net, onDevice.train, onDevice.val, setup.cfg, hooks, setup.resume); err != nil {
		return run.failed(w, err)
	}
	if setup.cfg.KeepBest {
		if err := run.saveWeights(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "Wrote %s: model.json, run.json, weights.safetensors (%s epoch), history.csv, steps.csv, accuracy.png, training.png\n", setup.out, c.String("keep"))
	return nil
}

// trainingData reads the data set and checks the model against it, and a
// resumed run's data set against the one it trained on.
func trainingData(c *cli.Context, setup *trainSetup) (*dataset.Dataset, error) {
	var rec runfolder.Record
	opts, err := imageOptions(c)
	if setup.resume != nil {
		if rec, err = runfolder.ReadRecord(setup.out); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		opts, err = recordedOptions(rec)
	}
	if err != nil {
		return nil, err
	}
	opts.Seed, opts.ValSplit = setup.cfg.Seed, setup.cfg.ValSplit
	data, err := loadData(c, opts)
	if err != nil {
		return nil, err
	}
	if setup.resume != nil {
		if rec.Data != nil && !rec.Data.SameShape(recordData(data)) {
			return nil, fmt.Errorf("--resume %s: the run trained on %s (%s); %s holds %s", setup.out, rec.Data, rec.Data.Dir, data.Dir, recordData(data))
		}
	}
	if setup.resume == nil && nn.DataShaped(setup.source) {
		// The preset takes the data set's images and classes.
		g := data.Geometry
		if setup.spec, err = nn.PresetFor(setup.source, [3]int{g.Height, g.Width, g.Channels}, data.Classes); err != nil {
			return nil, err
		}
		if setup.model, err = nn.Build(setup.spec); err != nil {
			return nil, fmt.Errorf("%s for %s: %w", setup.source, data.Dir, err)
		}
	}
	return data, checkModel(setup.source, setup.model, data)
}

// startRunFolder makes the run folder and writes its model.json: before
// the device, so that a bad --out fails before minutes of setup; fresh
// says it made the folder. A resumed run's folder loses the temporary files a killed
// writer left.
func startRunFolder(setup *trainSetup) (fresh bool, err error) {
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
func startParams(c *cli.Context, setup *trainSetup) ([]float32, error) {
	if setup.resume != nil {
		return setup.params, nil
	}
	if path := c.String("init"); path != "" {
		return setup.model.LoadWeights(path)
	}
	return setup.model.Init(setup.cfg.Seed), nil
}

// trainingNet builds the network with the run's kernels and, on resuming,
// the optimizer's state from the checkpoint.
func trainingNet(c *cli.Context, ctx *vk.Context, setup *trainSetup, params []float32, samples int) (*nn.Net, error) {
	tuning, err := runTuning(c, ctx, setup)
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

// deviceData is what a run trains and validates on, on the device.
type deviceData struct {
	train, val *nn.DeviceSet // val: nil where it is the training set's last part
	samples    int           // the training samples, less those held out
	valDesc    string
}

// uploadData puts the training set on the device, and the test set where
// the run validates on it rather than on the last --val-split of the
// training set.
func uploadData(net *nn.Net, cfg nn.TrainConfig, trainData, testData *dataset.Set, stream [2]bool) (deviceData, error) {
	held := int(float64(trainData.N) * cfg.ValSplit)
	d := deviceData{samples: trainData.N - held, valDesc: fmt.Sprintf("validate on %d test samples", testData.N)}
	var err error
	if d.train, err = upload(net, trainData, stream[0]); err != nil {
		return d, err
	}
	if cfg.ValSplit != 0 {
		d.valDesc = fmt.Sprintf("validate on the last %d training samples", held)
		return d, nil
	}
	d.val, err = upload(net, testData, stream[1])
	return d, err
}

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
// log, the figures and weights after each epoch, and the checkpoint.
func (r *runWriter) hooks(w io.Writer, cfg nn.TrainConfig, checkpointEvery int, stop func() bool) *nn.Hooks {
	return &nn.Hooks{
		Epoch: func(st nn.EpochStats) error {
			r.bar.finish()
			fmt.Fprintln(w, epochLine(st, cfg.Epochs))
			return r.epoch(st)
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
		Stop:            stop,
		Progress: func(p nn.Progress) {
			r.last = p
			if r.draw != nil {
				r.draw(p)
			}
		},
	}
}

// failed reports training that ended early: stopped (status 130, with
// the partial epoch's line and how to go on), or failed, saying what the
// run folder keeps. training.png shows the log so far either way.
func (r *runWriter) failed(w io.Writer, err error) error {
	r.bar.finish()
	if len(r.stepRows) > 0 {
		err = errors.Join(err, r.trainingFigure())
	}
	if errors.Is(err, nn.ErrStopped) {
		if r.last.Step < r.last.Steps {
			fmt.Fprintln(w, partialEpochLine(r.last, r.net.Batch))
		}
		return exitError{status: statusInterrupted, err: fmt.Errorf("interrupted: checkpoint written; continue with vkcnn train --resume %s", r.dir)}
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
	line := fmt.Sprintf("%s of %s", plural(cfg.Epochs, "epoch"), plural(per, "step"))
	if per < whole {
		line += fmt.Sprintf(" (--steps-per-epoch; a whole epoch is %s)", numfmt.Commas(whole))
	}
	total := cfg.Epochs * per
	line += fmt.Sprintf(": %s in all", plural(total, "step"))
	if resume != nil {
		line += fmt.Sprintf(", %s to go", numfmt.Commas(total-(resume.Epoch-1)*per-resume.Done))
	}
	return line
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return numfmt.Commas(n) + " " + noun + "s"
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

// runTuning is the kernels a run trains with at its precision: on
// resuming, those its folder recorded (the cached tuning may have changed
// since, and another variant sums in another order); else the cached
// tuning's, recorded now.
func runTuning(c *cli.Context, ctx *vk.Context, setup *trainSetup) (kernels.Tuning, error) {
	path := filepath.Join(setup.out, runfolder.KernelsFile)
	prec := setup.cfg.Precision
	if setup.resume != nil {
		t, err := kernels.LoadRunKernels(path, ctx.Info)
		if err == nil && t.Precision() != prec {
			err = fmt.Errorf("%s records the precision %s, the checkpoint %s", path, t.Precision(), prec)
		}
		if err == nil {
			fmt.Fprintf(c.App.ErrWriter, "vkcnn: kernels as recorded in %s\n", path)
			return t, checkPrecision(ctx.Info, prec)
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, kernels.ErrOtherDevice) {
			return kernels.Tuning{}, err
		}
		fmt.Fprintf(c.App.ErrWriter, "vkcnn: warning: %v; kernels chosen afresh, so the resumed run may differ in the last bits from an uninterrupted one\n", err)
	}
	t, err := loadTuning(c, ctx, prec)
	if err != nil {
		return t, err
	}
	_, products := nn.Products(setup.model, setup.cfg.BatchSize)
	return t, kernels.SaveRunKernels(path, t, products)
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
	// The progress bar on a terminal (draw draws it; nil elsewhere) and
	// the last progress reported.
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

// progress draws a bar per epoch on a terminal.
type progress struct {
	bar   *progressbar.ProgressBar
	epoch int
}

func (p *progress) update(out *os.File) func(nn.Progress) {
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

// openNet opens the device and builds a network for inference on
// samples images at --precision.
func openNet(c *cli.Context, model *nn.Model, params []float32, batch int, samples func(vk.DeviceInfo) int) (*vk.Context, *nn.Net, error) {
	prec, err := flagPrecision(c)
	if err != nil {
		return nil, nil, err
	}
	ctx, err := openDevice(c)
	if err != nil {
		return nil, nil, err
	}
	tuning, err := loadTuning(c, ctx, prec)
	if err != nil {
		ctx.Close()
		return nil, nil, err
	}
	net, err := nn.NewNet(ctx, model, batch, tuning, params, samples(ctx.Info))
	if err != nil {
		ctx.Close()
		return nil, nil, err
	}
	return ctx, net, nil
}

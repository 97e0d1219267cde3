package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/internal/numfmt"
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
			&cli.StringFlag{Name: "model", Value: vkcnn.DefaultModel, Usage: "standard, small (both for 28x28x1 images of 10 classes), resnet20, mobilenet (for the data set's images and classes), or a model file: model.json, or Keras' model.to_json() JSON or .keras archive"},
			lenientFlag,
			&cli.IntFlag{Name: "epochs", Value: vkcnn.DefaultEpochs, Usage: "passes over the training set"},
			&cli.IntFlag{Name: "batch-size", Value: vkcnn.DefaultBatchSize, Usage: "samples a step (the small preset: 32, resnet20 and mobilenet: 128)"},
			&cli.Float64Flag{Name: "lr", Value: vkcnn.DefaultLR, Usage: "the learning rate, which --lr-schedule moves (the small preset and mobilenet: 1e-3; resnet20: 0.1, its recipe's SGD rate, which another --optimizer does not take)"},
			&cli.Float64Flag{Name: "dropout", Usage: "override the rate of every dropout layer"},
			&cli.Uint64Flag{Name: "seed", Value: vkcnn.DefaultSeed, Usage: "seed of initialisation, shuffling, augmentation and dropout"},
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

// resumeKeeps are the flags --resume accepts; the rest come from the run.
var resumeKeeps = map[string]bool{"resume": true, "epochs": true, "data": true, "device": true, "checkpoint-every": true, "stream": true}

// trainSession reads the flags a fresh and a resumed run share.
func trainSession(c *cli.Context) vkcnn.TrainSession {
	return vkcnn.TrainSession{Data: c.String("data"), Device: libraryDeviceOptions(c), Stream: c.Bool("stream"),
		CheckpointEvery: c.Int("checkpoint-every"), Log: c.App.Writer, Warnings: c.App.ErrWriter, Bars: barsOnStderr(c)}
}

// trainOptions reads train's flags, whose defaults are the library's: a
// flag left out that a preset's recipe fills leaves its option unset.
func trainOptions(c *cli.Context) (vkcnn.TrainOptions, error) {
	opts := vkcnn.TrainOptions{TrainSession: trainSession(c), Model: c.String("model"), Lenient: c.Bool("lenient"), Out: c.String("out"), Init: c.String("init"),
		Epochs: c.Int("epochs"), Seed: c.Uint64("seed"), NoShuffle: c.Bool("no-shuffle"), ValSplit: c.Float64("val-split"),
		LogEvery: c.Int("log-every"), LabelSmoothing: c.Float64("label-smoothing"), Normalize: c.Bool("normalize")}
	if c.IsSet("batch-size") {
		opts.BatchSize = new(c.Int("batch-size"))
	}
	if c.IsSet("lr") {
		opts.LR = new(c.Float64("lr"))
	}
	if c.IsSet("dropout") {
		opts.Dropout = new(c.Float64("dropout"))
	}
	var err error
	if opts.Augment, err = augmentConfig(c); err != nil {
		return opts, err
	}
	switch keep := c.String("keep"); keep {
	case "last", "best":
		opts.KeepBest = keep == "best"
	default:
		return opts, fmt.Errorf("--keep %q: last or best", keep)
	}
	if opts.StepsPerEpoch, err = stepsPerEpoch(c); err != nil {
		return opts, err
	}
	if opts.Precision, err = flagPrecision(c); err != nil {
		return opts, err
	}
	opts.Optimizer, opts.Schedule = recipeOptions(c)
	if opts.EarlyStopping, err = earlyStopping(c); err != nil {
		return opts, err
	}
	image, err := imageOptions(c)
	if err != nil {
		return opts, err
	}
	opts.ImageSize, opts.Color = image.Size, image.Color
	if mean := c.String("mean"); mean != "" {
		if opts.Mean, err = floatList("--mean", mean); err != nil {
			return opts, err
		}
	}
	if std := c.String("std"); std != "" {
		if opts.Std, err = floatList("--std", std); err != nil {
			return opts, err
		}
	}
	return opts, nil
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

// train trains through the library, which prints what the run does;
// Ctrl-C (SIGINT or SIGTERM) stops it with a checkpoint and status 130,
// or before training begins with status 130 alone.
func train(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see --help)", c.Args().First())
	}
	stop := interrupts()
	defer stop.release()
	session := trainSession(c)
	var err error
	if dir := c.String("resume"); dir != "" {
		err = resume(stop.ctx, c, dir, session)
	} else {
		var opts vkcnn.TrainOptions
		if opts, err = trainOptions(c); err == nil {
			opts.TrainSession = session
			if c.IsSet("steps") {
				// The note follows the settings' check, quietly made.
				quiet := opts
				quiet.Warnings = nil
				if _, err := quiet.Config(); err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "vkcnn: note: --steps is the old name of --steps-per-epoch: at most %s in each of %s\n",
					numfmt.Plural(opts.StepsPerEpoch, "step"), numfmt.Plural(opts.Epochs, "epoch"))
			}
			_, err = vkcnn.Train(stop.ctx, opts)
		}
	}
	var stopped *vkcnn.StoppedError
	switch {
	case errors.Is(err, vkcnn.ErrFinished):
		fmt.Fprintf(c.App.ErrWriter, "vkcnn: %v\n", err)
		return nil
	case errors.As(err, &stopped):
		return exitError{status: statusInterrupted, err: fmt.Errorf("interrupted: checkpoint written; continue with vkcnn train --resume %s", stopped.Dir)}
	case errors.Is(err, context.Canceled):
		return exitError{status: statusInterrupted, err: err}
	}
	return err
}

// resume continues the run in dir with its own settings: of the flags,
// only resumeKeeps'.
func resume(ctx context.Context, c *cli.Context, dir string, session vkcnn.TrainSession) error {
	for _, name := range c.LocalFlagNames() {
		if !resumeKeeps[name] {
			return fmt.Errorf("--resume continues with the run's own settings: drop --%s", name)
		}
	}
	opts := vkcnn.ResumeOptions{TrainSession: session, Dir: dir}
	if c.IsSet("epochs") {
		if opts.Epochs = c.Int("epochs"); opts.Epochs <= 0 {
			return fmt.Errorf("epochs %d must be positive", opts.Epochs)
		}
	}
	_, err := vkcnn.Resume(ctx, opts)
	return err
}

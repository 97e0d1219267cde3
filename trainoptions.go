package vkcnn

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
)

// The defaults of vkcnn train, which its flags show and
// DefaultTrainOptions holds.
const (
	DefaultModel  = "standard"
	DefaultEpochs = 20
	// DefaultBatchSize and DefaultLR are those of a preset without a
	// recipe of its own (small: 32 and 1e-3; resnet20: 128 and SGD's 0.1).
	DefaultBatchSize = 64
	DefaultLR        = 5e-4
	DefaultSeed      = 1
	DefaultOptimizer = nn.OptAdam
	DefaultSchedule  = nn.SchedConstant
)

// TrainSession is how a run trains, fresh or resumed: on what data and
// device, and what it reports. Its zero value reads the default data set
// on the default device and reports nothing.
type TrainSession struct {
	// Data is the data set's folder or .npz file, anything --data reads;
	// "" is $VKCNN_DATA, else ./data/mnist.
	Data   string
	Device DeviceOptions
	// Stream keeps the images on the host, copying each step's batch to
	// the device (bit for bit as resident); a set that would not fit
	// streams anyway.
	Stream bool
	// CheckpointEvery also writes the checkpoint every N steps (it is
	// written after every epoch).
	CheckpointEvery int
	// Log receives the lines vkcnn train prints on its standard output:
	// what trains, one line an epoch, what it wrote. Warnings receives
	// its notes and warnings ("vkcnn: warning: ..."), and, with Bars, a
	// progress bar while images decode and through each epoch (the
	// command draws them on a terminal). nil: nothing.
	Log, Warnings io.Writer
	Bars          bool
	// OnProgress hears every step, and OnEpoch every epoch once the run
	// folder is written; either returning true stops the run after that
	// step with a checkpoint written, and Train returns an error that
	// matches ErrStopped. Cancelling Train's context does the same.
	OnProgress func(nn.Progress) (stop bool)
	OnEpoch    func(nn.EpochStats) (stop bool)
}

// TrainOptions are vkcnn train's settings, as Go values. Start from
// DefaultTrainOptions. A pointer left nil, or a name left "", is the
// preset's recipe's where it has one, else the command's default.
type TrainOptions struct {
	TrainSession
	// Model is a preset (standard, small, resnet20, mobilenet) or a model
	// file: model.json, or Keras' model.to_json() JSON or .keras archive
	// ("": DefaultModel). Lenient reads a Keras file without its
	// regularizers and constraints (a warning each) instead of refusing it.
	Model   string
	Lenient bool
	// Out is the run folder; "" is runs/MODEL-DATE-TIME.
	Out string
	// Init starts from these weights (a weights.safetensors of the same
	// model) in place of the model's initialisation.
	Init string

	Epochs int
	// BatchSize and LR: nil is the preset's recipe's, else
	// DefaultBatchSize and DefaultLR (new(0.01) sets one).
	BatchSize *int
	LR        *float64
	// Dropout, where set, overrides the rate of every dropout layer.
	Dropout *float64
	// Seed seeds initialisation, shuffling, augmentation and dropout.
	Seed uint64
	// StepsPerEpoch stops each epoch after N steps (0: the whole epoch).
	StepsPerEpoch int
	NoShuffle     bool
	// ValSplit validates on this last fraction of the training set in
	// place of the test set.
	ValSplit float64
	// KeepBest keeps the weights of the lowest validation loss, not the
	// last.
	KeepBest bool
	// LogEvery writes a row of steps.csv every N steps (0: about 100 rows
	// an epoch).
	LogEvery  int
	Precision kernels.Precision

	Optimizer OptimizerOptions
	Schedule  ScheduleOptions
	// EarlyStopping, where set, stops once its metric has not improved
	// for Patience epochs (Monitor "": val_loss).
	EarlyStopping  *nn.EarlyStopping
	LabelSmoothing float64
	Augment        augment.Config

	// ImageSize and Color say how a folder of images is read.
	ImageSize dataset.Size
	Color     dataset.Color
	// Normalize feeds the inputs through (x - Mean) / Std per channel,
	// computed from the training set unless Mean and Std give them.
	Normalize bool
	Mean, Std []float32
}

// DefaultTrainOptions are vkcnn train's defaults: the zero TrainOptions
// but for Model, Epochs and Seed, where zero is a value of its own (seed
// 0) or refused (0 epochs).
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Model: DefaultModel, Epochs: DefaultEpochs, Seed: DefaultSeed}
}

// ResumeOptions continue a run from its checkpoint with its own settings.
type ResumeOptions struct {
	TrainSession
	// Dir is the run folder.
	Dir string
	// Epochs may raise the run's total (0: the run's own).
	Epochs int
}

// OptimizerOptions choose the optimizer; a setting left nil is the
// optimizer's own (or the preset's recipe's), and one the optimizer does
// not take is refused.
type OptimizerOptions struct {
	// Name: adam, sgd, adamw or rmsprop; "" is the preset's recipe's,
	// else DefaultOptimizer.
	Name                                                        string
	Momentum, Beta1, Beta2, Epsilon, Rho, WeightDecay, ClipNorm *float64
	Nesterov, NoDecayBiasBN                                     *bool
}

// ScheduleOptions choose the learning-rate schedule; a parameter left nil
// is PyTorch's default, and one the schedule does not take is refused.
type ScheduleOptions struct {
	// Name: constant, step, multistep, exponential, cosine, onecycle or
	// plateau; "" is the preset's recipe's, else DefaultSchedule.
	Name                               string
	StepEpochs                         []int
	Gamma, MinLR, WarmupEpochs, Factor *float64
	Patience                           *int
	Monitor                            string
}

// optimizerFlags are the flags of each optimizer's settings.
var optimizerFlags = map[string][]string{
	nn.OptAdam:    {"beta1", "beta2", "epsilon", "weight-decay", "no-decay-bias-bn"},
	nn.OptAdamW:   {"beta1", "beta2", "epsilon", "weight-decay", "no-decay-bias-bn"},
	nn.OptSGD:     {"momentum", "nesterov", "weight-decay", "no-decay-bias-bn"},
	nn.OptRMSprop: {"rho", "epsilon", "weight-decay", "no-decay-bias-bn"},
}

// recipeConfig reads the optimizer and the schedule, refusing a setting
// the chosen one does not take.
func recipeConfig(o OptimizerOptions, so ScheduleOptions, preset nn.TrainingDefaults) (nn.Optimizer, nn.Schedule, error) {
	name := o.Name
	if name == "" {
		name = DefaultOptimizer
		if preset.Optimizer.Name != "" {
			name = preset.Optimizer.Name
		}
	}
	opt, ok := nn.DefaultOptimizer(name)
	if ok && name == preset.Optimizer.Name {
		opt = preset.Optimizer
	}
	if !ok {
		return opt, nn.Schedule{}, fmt.Errorf("--optimizer %q: %s", name, strings.Join(nn.Optimizers, ", "))
	}
	floats := []struct {
		flag string
		v    *float64
		dst  *float64
	}{{"momentum", o.Momentum, &opt.Momentum}, {"beta1", o.Beta1, &opt.Beta1}, {"beta2", o.Beta2, &opt.Beta2}, {"epsilon", o.Epsilon, &opt.Epsilon},
		{"rho", o.Rho, &opt.Rho}, {"weight-decay", o.WeightDecay, &opt.WeightDecay}, {"clip-norm", o.ClipNorm, &opt.ClipNorm}}
	set := map[string]bool{"nesterov": o.Nesterov != nil, "no-decay-bias-bn": o.NoDecayBiasBN != nil}
	for _, f := range floats {
		set[f.flag] = f.v != nil
	}
	for _, f := range []string{"momentum", "nesterov", "beta1", "beta2", "epsilon", "rho", "weight-decay", "no-decay-bias-bn"} {
		if set[f] && !slices.Contains(optimizerFlags[name], f) {
			return opt, nn.Schedule{}, fmt.Errorf("--%s: the %s optimizer does not take it (%s takes --%s)", f, name, name, strings.Join(optimizerFlags[name], ", --"))
		}
	}
	for _, f := range floats {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if o.Nesterov != nil {
		opt.Nesterov = *o.Nesterov
	}
	if o.NoDecayBiasBN != nil {
		opt.NoDecayBiasBN = *o.NoDecayBiasBN
	}
	if opt.NoDecayBiasBN && opt.WeightDecay == 0 {
		return opt, nn.Schedule{}, fmt.Errorf("--no-decay-bias-bn: the %s optimizer has no weight decay (give --weight-decay)", name)
	}
	if err := opt.Check(); err != nil {
		return opt, nn.Schedule{}, fmt.Errorf("--optimizer %w", err)
	}
	s, err := scheduleConfig(so, preset.Schedule)
	return opt, s, err
}

// earlyStopping checks early stopping's settings (nil: none).
func earlyStopping(e *nn.EarlyStopping) (nn.EarlyStopping, error) {
	if e == nil {
		return nn.EarlyStopping{}, nil
	}
	if e.Patience <= 0 {
		return *e, fmt.Errorf("--early-stopping %d: the epochs without improvement must be 1 or more", e.Patience)
	}
	out := *e
	if out.Monitor == "" {
		out.Monitor = nn.MonitorValLoss
	}
	return out, out.Check()
}

// scheduleConfig reads the schedule and its parameters, with PyTorch's
// defaults for those not given.
func scheduleConfig(o ScheduleOptions, preset nn.Schedule) (nn.Schedule, error) {
	name := o.Name
	if name == "" {
		name = DefaultSchedule
		if preset.Name != "" {
			name = preset.Name
		}
	}
	takes, ok := nn.ScheduleParams[name]
	if !ok {
		return nn.Schedule{}, fmt.Errorf("--lr-schedule %q: %s", name, strings.Join(nn.Schedules, ", "))
	}
	set := map[string]bool{nn.ParamStepEpochs: o.StepEpochs != nil, nn.ParamGamma: o.Gamma != nil, nn.ParamMinLR: o.MinLR != nil,
		nn.ParamWarmup: o.WarmupEpochs != nil, nn.ParamPatience: o.Patience != nil, nn.ParamFactor: o.Factor != nil, nn.ParamMonitor: o.Monitor != ""}
	for _, p := range []string{nn.ParamStepEpochs, nn.ParamGamma, nn.ParamMinLR, nn.ParamWarmup, nn.ParamPatience, nn.ParamFactor, nn.ParamMonitor} {
		if set[p] && !slices.Contains(takes, p) {
			return nn.Schedule{}, fmt.Errorf("--%s: the %s schedule does not take it", p, name)
		}
	}
	s := nn.Schedule{Name: name}
	if name == preset.Name {
		s = preset
	}
	if o.StepEpochs != nil {
		s.StepEpochs = o.StepEpochs
	}
	for _, f := range []struct{ v, dst *float64 }{{o.Gamma, &s.Gamma}, {o.MinLR, &s.MinLR}, {o.WarmupEpochs, &s.WarmupEpochs}, {o.Factor, &s.Factor}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if o.Patience != nil {
		s.Patience = *o.Patience
	}
	if o.Monitor != "" {
		s.Monitor = o.Monitor
	}
	switch name {
	case nn.SchedStep, nn.SchedMultiStep:
		if len(s.StepEpochs) == 0 {
			return s, fmt.Errorf("--lr-schedule %s needs --%s", name, nn.ParamStepEpochs)
		}
		if o.Gamma == nil {
			s.Gamma = 0.1
		}
	case nn.SchedExponential:
		if o.Gamma == nil {
			return s, fmt.Errorf("--lr-schedule exponential needs --%s", nn.ParamGamma)
		}
	case nn.SchedPlateau:
		if o.Patience == nil {
			s.Patience = 10
		}
		if o.Factor == nil {
			s.Factor = 0.1
		}
		if o.Monitor == "" {
			s.Monitor = nn.MonitorValLoss
		}
	}
	return s, nil
}

// trainSetup is everything train checks before it touches data or device.
type trainSetup struct {
	TrainSession
	spec  nn.ModelSpec
	model *nn.Model
	// source is where the model comes from: a preset's name or a file.
	source string
	cfg    nn.TrainConfig
	out    string
	// init is the weights file training starts from ("": the model's
	// initialisation); how the data set is read; the normalization asked
	// for, with its statistics where given (nil: computed).
	init      string
	imageOpts dataset.Options
	normalize bool
	mean, std []float32
	// When resuming: where the run stands, with its weights and the
	// optimizer's state.
	resume                 *nn.TrainState
	params, state1, state2 []float32
}

// writer is w, or a writer that drops what it is given.
func writer(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

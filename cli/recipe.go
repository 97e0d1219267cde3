package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/nn"
)

// recipeFlags choose the optimizer and the learning-rate schedule.
func recipeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "optimizer", Value: nn.OptAdam, Usage: "adam (Keras 2.0's: epsilon added to sqrt(v), not to PyTorch's bias-corrected one), sgd, adamw or rmsprop (torch.optim's); resnet20's recipe: sgd, momentum 0.9, weight decay 1e-4, each flag winning over its own part (another optimizer drops the recipe's settings and rate)", DefaultText: "adam; resnet20: sgd"},
		&cli.Float64Flag{Name: "momentum", Usage: "SGD's momentum, PyTorch's form: v = momentum v + g, p -= lr v (dampening 0)", DefaultText: "0"},
		&cli.BoolFlag{Name: "nesterov", Usage: "SGD's Nesterov momentum: p -= lr (g + momentum v)"},
		&cli.Float64Flag{Name: "beta1", Usage: "the Adams' first-moment decay", DefaultText: "0.9"},
		&cli.Float64Flag{Name: "beta2", Usage: "the Adams' second-moment decay", DefaultText: "0.999"},
		&cli.Float64Flag{Name: "epsilon", Usage: "the Adams' and RMSprop's epsilon", DefaultText: "1e-8"},
		&cli.Float64Flag{Name: "rho", Usage: "RMSprop's smoothing constant, PyTorch's alpha (Keras' rho defaults to 0.9)", DefaultText: "0.99"},
		&cli.Float64Flag{Name: "weight-decay", Usage: "L2 added to the gradient (sgd, adam, rmsprop: Keras' l2(λ) is a decay of 2λ), decoupled for adamw (p -= lr wd p at the scheduled rate)",
			DefaultText: "0; adamw 0.01"},
		&cli.Float64Flag{Name: "clip-norm", Usage: "clip the gradient to this global norm, as torch.nn.utils.clip_grad_norm_ (not Keras' per-tensor clipnorm), before weight decay; steps.csv's grad_norm is each row's largest norm before clipping"},
		&cli.Float64Flag{Name: "label-smoothing", Usage: "the training loss's label smoothing, as PyTorch's CrossEntropyLoss(label_smoothing=E); validation's loss stays plain"},
		&cli.BoolFlag{Name: "no-decay-bias-bn", Usage: "weight decay leaves biases and batch normalization's scale and offset (the 1-D tensors) alone; PyTorch's default decays all"},
		&cli.StringFlag{Name: "lr-schedule", Value: nn.SchedConstant, Usage: "constant; step, multistep, exponential (per epoch); cosine, onecycle (per step, over the run); plateau (per epoch, on validation); resnet20's recipe: cosine with --warmup-epochs 0.1 (another schedule drops the warmup)", DefaultText: "constant; resnet20: cosine"},
		&cli.IntSliceFlag{Name: nn.ParamStepEpochs, Usage: "step: the period in epochs (StepLR's step_size); multistep: the epochs at which the rate drops (MultiStepLR's milestones), as 30,60,80"},
		&cli.Float64Flag{Name: nn.ParamGamma, Usage: "step, multistep, exponential: the factor of each drop (step and multistep: 0.1)"},
		&cli.Float64Flag{Name: nn.ParamMinLR, Usage: "cosine: the rate it ends at (eta_min); plateau: the lowest rate (min_lr)", DefaultText: "0"},
		&cli.Float64Flag{Name: nn.ParamWarmup, Usage: "linear warmup over the first ceil(F x steps an epoch) steps, step i of W at the rate x (i+1)/(W+1); not with onecycle"},
		&cli.IntFlag{Name: nn.ParamPatience, Usage: "plateau: epochs without improvement before the rate drops (after patience+1 such epochs, as PyTorch)", DefaultText: "10"},
		&cli.Float64Flag{Name: nn.ParamFactor, Usage: "plateau: the factor of each drop", DefaultText: "0.1"},
		&cli.StringFlag{Name: nn.ParamMonitor, Usage: "plateau: val_loss (lower is better) or val_acc (higher)", DefaultText: nn.MonitorValLoss},
		&cli.IntFlag{Name: "early-stopping", Usage: "stop once --monitor has not improved by more than --min-delta for N epochs (Keras' EarlyStopping); --keep best keeps the lowest validation loss's epoch whatever --monitor"},
		&cli.StringFlag{Name: "monitor", Usage: "early stopping's metric: val_loss or val_acc", DefaultText: nn.MonitorValLoss},
		&cli.Float64Flag{Name: "min-delta", Usage: "early stopping: the smallest change that counts as an improvement (absolute, as Keras')", DefaultText: "0"},
	}
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
func recipeConfig(c *cli.Context, preset nn.TrainingDefaults) (nn.Optimizer, nn.Schedule, error) {
	name := c.String("optimizer")
	if !c.IsSet("optimizer") && preset.Optimizer.Name != "" {
		name = preset.Optimizer.Name
	}
	opt, ok := nn.DefaultOptimizer(name)
	if ok && name == preset.Optimizer.Name {
		opt = preset.Optimizer
	}
	if !ok {
		return opt, nn.Schedule{}, fmt.Errorf("--optimizer %q: %s", name, strings.Join(nn.Optimizers, ", "))
	}
	for _, f := range []string{"momentum", "nesterov", "beta1", "beta2", "epsilon", "rho", "weight-decay", "no-decay-bias-bn"} {
		if c.IsSet(f) && !slices.Contains(optimizerFlags[name], f) {
			return opt, nn.Schedule{}, fmt.Errorf("--%s: the %s optimizer does not take it (%s takes --%s)", f, name, name, strings.Join(optimizerFlags[name], ", --"))
		}
	}
	set := func(flag string, dst *float64) {
		if c.IsSet(flag) {
			*dst = c.Float64(flag)
		}
	}
	set("momentum", &opt.Momentum)
	set("beta1", &opt.Beta1)
	set("beta2", &opt.Beta2)
	set("epsilon", &opt.Epsilon)
	set("rho", &opt.Rho)
	set("weight-decay", &opt.WeightDecay)
	set("clip-norm", &opt.ClipNorm)
	if c.IsSet("nesterov") {
		opt.Nesterov = c.Bool("nesterov")
	}
	if c.IsSet("no-decay-bias-bn") {
		opt.NoDecayBiasBN = c.Bool("no-decay-bias-bn")
	}
	if opt.NoDecayBiasBN && opt.WeightDecay == 0 {
		return opt, nn.Schedule{}, fmt.Errorf("--no-decay-bias-bn: the %s optimizer has no weight decay (give --weight-decay)", name)
	}
	if err := opt.Check(); err != nil {
		return opt, nn.Schedule{}, fmt.Errorf("--optimizer %w", err)
	}
	s, err := scheduleConfig(c, preset.Schedule)
	return opt, s, err
}

// earlyStopping reads early stopping's settings.
func earlyStopping(c *cli.Context) (nn.EarlyStopping, error) {
	e := nn.EarlyStopping{Patience: c.Int("early-stopping"), Monitor: c.String("monitor"), MinDelta: c.Float64("min-delta")}
	if !c.IsSet("early-stopping") {
		for _, f := range []string{"monitor", "min-delta"} {
			if c.IsSet(f) {
				return e, fmt.Errorf("--%s is early stopping's: give --early-stopping N", f)
			}
		}
		return nn.EarlyStopping{}, nil
	}
	if e.Patience <= 0 {
		return e, fmt.Errorf("--early-stopping %d: the epochs without improvement must be 1 or more", e.Patience)
	}
	if !c.IsSet("monitor") {
		e.Monitor = nn.MonitorValLoss
	}
	return e, e.Check()
}

// scheduleConfig reads the schedule and its parameters, with PyTorch's
// defaults for those not given.
func scheduleConfig(c *cli.Context, preset nn.Schedule) (nn.Schedule, error) {
	name := c.String("lr-schedule")
	if !c.IsSet("lr-schedule") && preset.Name != "" {
		name = preset.Name
	}
	takes, ok := nn.ScheduleParams[name]
	if !ok {
		return nn.Schedule{}, fmt.Errorf("--lr-schedule %q: %s", name, strings.Join(nn.Schedules, ", "))
	}
	for _, p := range []string{nn.ParamStepEpochs, nn.ParamGamma, nn.ParamMinLR, nn.ParamWarmup, nn.ParamPatience, nn.ParamFactor, nn.ParamMonitor} {
		if c.IsSet(p) && !slices.Contains(takes, p) {
			return nn.Schedule{}, fmt.Errorf("--%s: the %s schedule does not take it", p, name)
		}
	}
	s := nn.Schedule{Name: name}
	if name == preset.Name {
		s = preset
	}
	if c.IsSet(nn.ParamStepEpochs) {
		s.StepEpochs = c.IntSlice(nn.ParamStepEpochs)
	}
	setFloat := func(flag string, dst *float64) {
		if c.IsSet(flag) {
			*dst = c.Float64(flag)
		}
	}
	setFloat(nn.ParamGamma, &s.Gamma)
	setFloat(nn.ParamMinLR, &s.MinLR)
	setFloat(nn.ParamWarmup, &s.WarmupEpochs)
	setFloat(nn.ParamFactor, &s.Factor)
	if c.IsSet(nn.ParamPatience) {
		s.Patience = c.Int(nn.ParamPatience)
	}
	if c.IsSet(nn.ParamMonitor) {
		s.Monitor = c.String(nn.ParamMonitor)
	}
	switch name {
	case nn.SchedStep, nn.SchedMultiStep:
		if len(s.StepEpochs) == 0 {
			return s, fmt.Errorf("--lr-schedule %s needs --%s", name, nn.ParamStepEpochs)
		}
		if !c.IsSet(nn.ParamGamma) {
			s.Gamma = 0.1
		}
	case nn.SchedExponential:
		if !c.IsSet(nn.ParamGamma) {
			return s, fmt.Errorf("--lr-schedule exponential needs --%s", nn.ParamGamma)
		}
	case nn.SchedPlateau:
		if !c.IsSet(nn.ParamPatience) {
			s.Patience = 10
		}
		if !c.IsSet(nn.ParamFactor) {
			s.Factor = 0.1
		}
		if !c.IsSet(nn.ParamMonitor) {
			s.Monitor = nn.MonitorValLoss
		}
	}
	return s, nil
}

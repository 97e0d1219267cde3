package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/nn"
)

// recipeFlags choose the optimizer and the learning-rate schedule.
func recipeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "optimizer", Value: vkcnn.DefaultOptimizer, Usage: "adam (Keras 2.0's: epsilon added to sqrt(v), not to PyTorch's bias-corrected one), sgd, adamw or rmsprop (torch.optim's); resnet20's recipe: sgd, momentum 0.9, weight decay 1e-4, each flag winning over its own part (another optimizer drops the recipe's settings and rate)", DefaultText: "adam; resnet20: sgd"},
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
		&cli.StringFlag{Name: "lr-schedule", Value: vkcnn.DefaultSchedule, Usage: "constant; step, multistep, exponential (per epoch); cosine, onecycle (per step, over the run); plateau (per epoch, on validation); resnet20's recipe: cosine with --warmup-epochs 0.1 (another schedule drops the warmup)", DefaultText: "constant; resnet20: cosine"},
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

// recipeOptions reads the optimizer's and the schedule's flags: one left
// out is left unset, for the optimizer's, the schedule's or the preset's
// own.
func recipeOptions(c *cli.Context) (vkcnn.OptimizerOptions, vkcnn.ScheduleOptions) {
	float := func(flag string) *float64 {
		if !c.IsSet(flag) {
			return nil
		}
		return new(c.Float64(flag))
	}
	boolean := func(flag string) *bool {
		if !c.IsSet(flag) {
			return nil
		}
		return new(c.Bool(flag))
	}
	o := vkcnn.OptimizerOptions{Momentum: float("momentum"), Beta1: float("beta1"), Beta2: float("beta2"), Epsilon: float("epsilon"),
		Rho: float("rho"), WeightDecay: float("weight-decay"), ClipNorm: float("clip-norm"), Nesterov: boolean("nesterov"), NoDecayBiasBN: boolean("no-decay-bias-bn")}
	if c.IsSet("optimizer") {
		o.Name = c.String("optimizer")
	}
	s := vkcnn.ScheduleOptions{Gamma: float(nn.ParamGamma), MinLR: float(nn.ParamMinLR), WarmupEpochs: float(nn.ParamWarmup), Factor: float(nn.ParamFactor)}
	if c.IsSet("lr-schedule") {
		s.Name = c.String("lr-schedule")
	}
	if c.IsSet(nn.ParamStepEpochs) {
		s.StepEpochs = c.IntSlice(nn.ParamStepEpochs)
	}
	if c.IsSet(nn.ParamPatience) {
		s.Patience = new(c.Int(nn.ParamPatience))
	}
	if c.IsSet(nn.ParamMonitor) {
		s.Monitor = c.String(nn.ParamMonitor)
	}
	return o, s
}

// earlyStopping reads early stopping's settings (nil: none).
func earlyStopping(c *cli.Context) (*nn.EarlyStopping, error) {
	if !c.IsSet("early-stopping") {
		for _, f := range []string{"monitor", "min-delta"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s is early stopping's: give --early-stopping N", f)
			}
		}
		return nil, nil
	}
	return &nn.EarlyStopping{Patience: c.Int("early-stopping"), Monitor: c.String("monitor"), MinDelta: c.Float64("min-delta")}, nil
}

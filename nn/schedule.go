package nn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The learning-rate schedules, by name: PyTorch's schedulers' formulas,
// each stepped as the comment says.
const (
	// SchedConstant keeps the rate.
	SchedConstant = "constant"
	// SchedStep multiplies it by Gamma every StepEpochs[0] epochs
	// (StepLR, per epoch).
	SchedStep = "step"
	// SchedMultiStep multiplies it by Gamma at each epoch of StepEpochs
	// (MultiStepLR, per epoch).
	SchedMultiStep = "multistep"
	// SchedExponential multiplies it by Gamma every epoch (ExponentialLR,
	// per epoch).
	SchedExponential = "exponential"
	// SchedCosine anneals it to MinLR over the steps after the warmup
	// (CosineAnnealingLR with T_max the run's steps less the warmup's, per
	// step, by PyTorch's recursion): the step after the run's last would
	// be at MinLR.
	SchedCosine = "cosine"
	// SchedOneCycle is OneCycleLR's (per step, over the run's steps, max_lr
	// the rate, its defaults: pct_start 0.3, div_factor 25,
	// final_div_factor 1e4, cosine annealing) without cycling momentum
	// (cycle_momentum=False): momentum and Adam's beta1 stay as set.
	SchedOneCycle = "onecycle"
	// SchedPlateau multiplies it by Factor, down to MinLR, once the
	// monitored validation metric has not improved for more than Patience
	// epochs (ReduceLROnPlateau, per epoch, its threshold relative 1e-4,
	// its mode min for val_loss and max for val_acc).
	SchedPlateau = "plateau"
)

// Schedules are the schedules' names, the default first.
var Schedules = []string{SchedConstant, SchedStep, SchedMultiStep, SchedExponential, SchedCosine, SchedOneCycle, SchedPlateau}

// The metrics a plateau schedule or early stopping may follow.
const (
	MonitorValLoss = "val_loss"
	MonitorValAcc  = "val_acc"
)

// Schedule is how the learning rate moves over a run. The zero value (an
// empty Name, as runs recorded before there was a choice) is constant.
//
// WarmupEpochs, for any schedule but onecycle, warms up linearly over its
// first W = ceil(WarmupEpochs x steps an epoch) steps: step i (from 0) of
// them has the schedule's rate times (i+1)/(W+1), as PyTorch's
// LinearLR(start_factor=1/(W+1), total_iters=W) in a SequentialLR before
// the cosine (whose length leaves the warmup out), or chained with the
// per-epoch schedules (a ChainedScheduler).
type Schedule struct {
	Name         string  `json:"name"`
	StepEpochs   []int   `json:"step_epochs,omitempty"`
	Gamma        float64 `json:"gamma,omitempty"`
	MinLR        float64 `json:"min_lr,omitempty"`
	WarmupEpochs float64 `json:"warmup_epochs,omitempty"`
	Patience     int     `json:"plateau_patience,omitempty"`
	Factor       float64 `json:"plateau_factor,omitempty"`
	Monitor      string  `json:"plateau_monitor,omitempty"`
}

// The parameters of schedules, by their flags' names.
const (
	ParamStepEpochs = "lr-step-epochs"
	ParamGamma      = "lr-gamma"
	ParamMinLR      = "lr-min"
	ParamWarmup     = "warmup-epochs"
	ParamPatience   = "plateau-patience"
	ParamFactor     = "plateau-factor"
	ParamMonitor    = "plateau-monitor"
)

// ScheduleParams are the parameters each schedule takes.
var ScheduleParams = map[string][]string{
	SchedConstant:    {ParamWarmup},
	SchedStep:        {ParamStepEpochs, ParamGamma, ParamWarmup},
	SchedMultiStep:   {ParamStepEpochs, ParamGamma, ParamWarmup},
	SchedExponential: {ParamGamma, ParamWarmup},
	SchedCosine:      {ParamMinLR, ParamWarmup},
	SchedOneCycle:    {},
	SchedPlateau:     {ParamMinLR, ParamPatience, ParamFactor, ParamMonitor, ParamWarmup},
}

// given lists the parameters set (not zero) in s.
func (s Schedule) given() []string {
	var out []string
	for _, p := range []struct {
		name string
		set  bool
	}{{ParamStepEpochs, len(s.StepEpochs) > 0}, {ParamGamma, s.Gamma != 0}, {ParamMinLR, s.MinLR != 0}, {ParamWarmup, s.WarmupEpochs != 0},
		{ParamPatience, s.Patience != 0}, {ParamFactor, s.Factor != 0}, {ParamMonitor, s.Monitor != ""}} {
		if p.set {
			out = append(out, p.name)
		}
	}
	return out
}

func (s Schedule) name() string {
	if s.Name == "" {
		return SchedConstant
	}
	return s.Name
}

// Check reports the first setting the schedule cannot run at the base
// rate lr.
func (s Schedule) Check(lr float64) error {
	name := s.name()
	takes, ok := ScheduleParams[name]
	if !ok {
		return fmt.Errorf("unknown learning-rate schedule %q (%s)", s.Name, strings.Join(Schedules, ", "))
	}
	for _, p := range s.given() {
		if !slices.Contains(takes, p) {
			return fmt.Errorf("the %s schedule takes no --%s", name, p)
		}
	}
	positive := func(what string, v float64) error {
		if !(v > 0 && v < math.Inf(1)) {
			return fmt.Errorf("%s schedule: %s %g must be a positive number", name, what, v)
		}
		return nil
	}
	switch {
	case !(s.WarmupEpochs >= 0 && s.WarmupEpochs < math.Inf(1)):
		return fmt.Errorf("warmup of %g epochs must be a number, 0 or more", s.WarmupEpochs)
	case !(s.MinLR >= 0 && s.MinLR < lr):
		return fmt.Errorf("%s schedule: minimum rate %g outside [0, the rate %g)", name, s.MinLR, lr)
	}
	switch name {
	case SchedStep:
		if len(s.StepEpochs) != 1 || s.StepEpochs[0] <= 0 {
			return fmt.Errorf("step schedule: --%s takes one period of epochs above 0, not %v", ParamStepEpochs, s.StepEpochs)
		}
		return positive("gamma", s.Gamma)
	case SchedMultiStep:
		if len(s.StepEpochs) == 0 || s.StepEpochs[0] <= 0 || !slices.IsSorted(s.StepEpochs) || len(slices.Compact(slices.Clone(s.StepEpochs))) != len(s.StepEpochs) {
			return fmt.Errorf("multistep schedule: --%s takes epochs above 0 in increasing order, not %v", ParamStepEpochs, s.StepEpochs)
		}
		return positive("gamma", s.Gamma)
	case SchedExponential:
		return positive("gamma", s.Gamma)
	case SchedPlateau:
		if s.Monitor != MonitorValLoss && s.Monitor != MonitorValAcc {
			return fmt.Errorf("plateau schedule: monitor %q: %s or %s", s.Monitor, MonitorValLoss, MonitorValAcc)
		}
		if s.Patience < 0 {
			return fmt.Errorf("plateau schedule: patience %d must not be negative", s.Patience)
		}
		if !(s.Factor > 0 && s.Factor < 1) {
			return fmt.Errorf("plateau schedule: factor %g outside (0, 1)", s.Factor)
		}
	}
	return nil
}

// FitsRunLength says whether the schedule is fitted to the run's length,
// so that other epochs would move the rates of the steps already taken.
func (s Schedule) FitsRunLength() bool {
	return s.Name == SchedCosine || s.Name == SchedOneCycle
}

// rates is a schedule laid over a run: the rate of each step.
type rates struct {
	s                 Schedule
	lr                float64
	perEpoch, warmup  int
	total             int
	cosine            []float64 // the cosine's rates after the warmup
	initial, floorLR  float64   // onecycle's first and last rates
	rise, fall, cycle float64   // onecycle's phases' last steps
}

// newRates lays s over a run of epochs of perEpoch steps at base rate lr.
func newRates(s Schedule, lr float64, perEpoch, epochs int) *rates {
	r := &rates{s: s, lr: lr, perEpoch: perEpoch, total: perEpoch * epochs}
	if s.WarmupEpochs > 0 {
		r.warmup = min(int(math.Ceil(s.WarmupEpochs*float64(perEpoch))), r.total)
	}
	switch s.Name {
	case SchedCosine:
		r.cosine = cosineRates(lr, s.MinLR, r.total-r.warmup)
	case SchedOneCycle:
		r.initial = lr / 25
		r.floorLR = r.initial / 1e4
		r.rise, r.fall = 0.3*float64(r.total)-1, float64(r.total)-1
	}
	return r
}

// cosineRates are CosineAnnealingLR's n rates over T_max n from lr to
// min, by its recursion (whose last bits differ from the closed form's,
// which near the end loses digits in 1 + cos x as x nears pi).
func cosineRates(lr, min float64, n int) []float64 {
	out := make([]float64, n)
	for t := range out {
		switch {
		case t == 0:
			out[t] = lr
		case (t-1-n)%(2*n) == 0:
			out[t] = out[t-1] + (lr-min)*(1-math.Cos(math.Pi/float64(n)))/2
		default:
			out[t] = (1+math.Cos(math.Pi*float64(t)/float64(n)))/(1+math.Cos(math.Pi*float64(t-1)/float64(n)))*(out[t-1]-min) + min
		}
	}
	return out
}

// at is the rate of step i of the run (from 0), plateau the plateau
// schedule's current rate.
func (r *rates) at(i int, plateau float64) float64 {
	epoch := float64(i / r.perEpoch)
	rate := r.lr
	switch r.s.Name {
	case SchedStep:
		rate = r.lr * math.Pow(r.s.Gamma, math.Floor(epoch/float64(r.s.StepEpochs[0])))
	case SchedMultiStep:
		passed := 0
		for _, m := range r.s.StepEpochs {
			if float64(m) <= epoch {
				passed++
			}
		}
		rate = r.lr * math.Pow(r.s.Gamma, float64(passed))
	case SchedExponential:
		rate = r.lr * math.Pow(r.s.Gamma, epoch)
	case SchedCosine:
		if i >= r.warmup {
			rate = r.cosine[min(i-r.warmup, len(r.cosine)-1)]
		}
	case SchedOneCycle:
		rate = r.oneCycle(float64(i))
	case SchedPlateau:
		rate = plateau
	}
	if i < r.warmup {
		rate *= float64(i+1) / float64(r.warmup+1)
	}
	return rate
}

// oneCycle is OneCycleLR's rate at step i: up from lr/25 to lr over the
// first 30% of the steps, then down to lr/25e4, both halves of a cosine.
func (r *rates) oneCycle(i float64) float64 {
	anneal := func(start, end, pct float64) float64 { return end + (start-end)/2*(math.Cos(math.Pi*pct)+1) }
	if i <= r.rise {
		return anneal(r.initial, r.lr, i/r.rise)
	}
	return anneal(r.lr, r.floorLR, (i-r.rise)/(r.fall-r.rise))
}

// Plateau is where a plateau schedule or early stopping stands: the best
// value of its metric so far and the epochs since it improved.
type Plateau struct {
	Seen  bool    `json:"seen,omitempty"` // an epoch has been followed
	Best  float64 `json:"best,omitempty"`
	Epoch int     `json:"best_epoch,omitempty"` // early stopping's: the best's
	Bad   int     `json:"bad_epochs,omitempty"`
}

// follow takes an epoch's value v of the metric monitor and says whether
// it improved on the best: by the plateau schedule's relative threshold
// (PyTorch's rel mode: below best (1 - t), above best (1 + t)) where
// relative is not 0, else by early stopping's absolute minDelta (Keras').
func (p *Plateau) follow(monitor string, v, relative, minDelta float64) bool {
	sign := 1.0 // lower is better
	if monitor == MonitorValAcc {
		sign = -1
	}
	better := !p.Seen || sign*v+minDelta < sign*p.Best
	if relative > 0 && p.Seen {
		better = sign*v < sign*p.Best*(1-sign*relative)
	}
	p.Seen = true
	if better {
		p.Best, p.Bad = v, 0
	} else {
		p.Bad++
	}
	return better
}

// EarlyStopping is Keras' EarlyStopping: the run ends once Monitor has not
// improved by more than MinDelta (absolute) for Patience epochs.
type EarlyStopping struct {
	Patience int     `json:"patience,omitempty"`
	Monitor  string  `json:"monitor,omitempty"`
	MinDelta float64 `json:"min_delta,omitempty"`
}

func (e EarlyStopping) on() bool { return e.Patience > 0 }

// Check reports the first setting early stopping cannot run.
func (e EarlyStopping) Check() error {
	switch {
	case e.Patience < 0:
		return fmt.Errorf("early stopping: patience %d must not be negative", e.Patience)
	case !e.on() && (e.Monitor != "" || e.MinDelta != 0):
		return errors.New("early stopping: a monitor or minimum change without a patience")
	case e.on() && e.Monitor != MonitorValLoss && e.Monitor != MonitorValAcc:
		return fmt.Errorf("early stopping: monitor %q: %s or %s", e.Monitor, MonitorValLoss, MonitorValAcc)
	case !(e.MinDelta >= 0 && e.MinDelta < math.Inf(1)):
		return fmt.Errorf("early stopping: minimum change %g must be a number, 0 or more", e.MinDelta)
	}
	return nil
}

// plateauThreshold is ReduceLROnPlateau's relative threshold.
const plateauThreshold = 1e-4

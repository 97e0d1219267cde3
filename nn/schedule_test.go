package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkcnn/vkcnn/vk/vktest"
)

// torchLoop replays a PyTorch training loop's schedulers in their
// chainable forms (each step() multiplies the optimizer's current rate),
// stepped as vkcnn's schedules say: LinearLR's warmup after every step,
// the per-epoch ones after every epoch, CosineAnnealingLR after every
// step once the warmup's SequentialLR milestone has passed, OneCycleLR
// after every step. It returns the rate of every step.
func torchLoop(s Schedule, lr float64, perEpoch, epochs int) []float64 {
	total := perEpoch * epochs
	w := 0
	if s.WarmupEpochs > 0 {
		w = min(int(math.Ceil(s.WarmupEpochs*float64(perEpoch))), total)
	}
	start := 1 / float64(w+1) // LinearLR's start_factor
	group := lr
	if w > 0 {
		group = lr * start
	}
	if s.Name == SchedOneCycle {
		group = lr / 25 // its initial_lr
	}
	out := make([]float64, total)
	cosineStep := 0
	for i := range total {
		out[i] = group
		if s.Name == SchedOneCycle {
			// OneCycleLR.get_lr at step i+1, from its phases.
			n := float64(i + 1)
			rise := 0.3*float64(total) - 1
			anneal := func(a, b, pct float64) float64 { return b + (a-b)/2.0*(math.Cos(math.Pi*pct)+1) }
			if n <= rise {
				group = anneal(lr/25, lr, n/rise)
			} else {
				group = anneal(lr, lr/25/1e4, (n-rise)/(float64(total)-1-rise))
			}
			continue
		}
		// The warmup's LinearLR.step(): last_epoch becomes i+1.
		if e := i + 1; w > 0 && e <= w {
			group *= 1 + (1-start)/(float64(w)*start+float64(e-1)*(1-start))
		}
		if s.Name == SchedCosine && i+1 >= w {
			tmax := float64(total - w)
			if i+1 == w { // SequentialLR's milestone: the cosine starts at the rate
				group = lr
				cosineStep = 0
				continue
			}
			cosineStep++
			e := float64(cosineStep)
			if int(e-1-tmax)%int(2*tmax) == 0 {
				group += (lr - s.MinLR) * (1 - math.Cos(math.Pi/tmax)) / 2
			} else {
				group = (1+math.Cos(math.Pi*e/tmax))/(1+math.Cos(math.Pi*(e-1)/tmax))*(group-s.MinLR) + s.MinLR
			}
		}
		if (i+1)%perEpoch != 0 {
			continue
		}
		epoch := (i + 1) / perEpoch // the per-epoch schedulers' last_epoch
		switch s.Name {
		case SchedStep:
			if epoch%s.StepEpochs[0] == 0 {
				group *= s.Gamma
			}
		case SchedMultiStep:
			for _, m := range s.StepEpochs {
				if m == epoch {
					group *= s.Gamma
				}
			}
		case SchedExponential:
			group *= s.Gamma
		}
	}
	return out
}

// TestScheduleRatesArePyTorchs compares every schedule's rate at every
// step with PyTorch's schedulers' formulas, to 1e-12 relative.
func TestScheduleRatesArePyTorchs(t *testing.T) {
	const lr, perEpoch, epochs = 0.1, 37, 9
	for name, s := range map[string]Schedule{
		"constant":           {},
		"constant warmup":    {Name: SchedConstant, WarmupEpochs: 0.5},
		"step":               {Name: SchedStep, StepEpochs: []int{3}, Gamma: 0.1},
		"step warmup":        {Name: SchedStep, StepEpochs: []int{2}, Gamma: 0.5, WarmupEpochs: 1.3},
		"multistep":          {Name: SchedMultiStep, StepEpochs: []int{2, 5, 6}, Gamma: 0.2},
		"exponential":        {Name: SchedExponential, Gamma: 0.8, WarmupEpochs: 0.1},
		"cosine":             {Name: SchedCosine},
		"cosine warmup min":  {Name: SchedCosine, WarmupEpochs: 0.2, MinLR: 1e-3},
		"cosine long warmup": {Name: SchedCosine, WarmupEpochs: 4},
		"onecycle":           {Name: SchedOneCycle},
	} {
		if err := s.Check(lr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := torchLoop(s, lr, perEpoch, epochs)
		r := newRates(s, lr, perEpoch, epochs)
		for i, w := range want {
			if got := r.at(i, 0); math.Abs(got-w) > 1e-12*w || math.IsNaN(got) {
				t.Fatalf("%s: step %d (epoch %d) rate %.17g, PyTorch's %.17g", name, i, i/perEpoch, got, w)
			}
		}
	}
}

// TestPlateauFollowsReduceLROnPlateau steps the plateau schedule's rate
// through a sequence of validation losses and accuracies as
// ReduceLROnPlateau would: reduced once the metric has not improved by
// its relative threshold for more than patience epochs, no lower than
// the minimum.
func TestPlateauFollowsReduceLROnPlateau(t *testing.T) {
	for _, c := range []struct {
		s      Schedule
		values []float64
		want   []float64 // the rate after each epoch
	}{
		{Schedule{Name: SchedPlateau, Monitor: MonitorValLoss, Patience: 1, Factor: 0.5},
			[]float64{1, 0.99995, 0.9, 0.95, 0.91, 0.92, 0.8},
			[]float64{1, 1, 1, 1, 0.5, 0.5, 0.5}},
		{Schedule{Name: SchedPlateau, Monitor: MonitorValAcc, Patience: 0, Factor: 0.1, MinLR: 0.05},
			[]float64{0.5, 0.6, 0.6, 0.7, 0.6, 0.6},
			[]float64{1, 1, 0.1, 0.1, 0.05, 0.05}},
	} {
		tr := &trainer{cfg: TrainConfig{LR: 1, Schedule: c.s}, st: &TrainState{PlateauLR: 1}}
		for e, v := range c.values {
			tr.plateau(EpochStats{ValLoss: v, ValAcc: v})
			if tr.st.PlateauLR != c.want[e] {
				t.Fatalf("%s: after epoch %d (%v) the rate is %g, want %g", c.s.Monitor, e+1, c.values[:e+1], tr.st.PlateauLR, c.want[e])
			}
		}
	}
}

// TestEarlyStoppingFollowsKeras stops as Keras' EarlyStopping would: once
// the metric has not improved by more than min_delta for patience epochs,
// never after the last epoch, saying when the best was.
func TestEarlyStoppingFollowsKeras(t *testing.T) {
	for _, c := range []struct {
		e      EarlyStopping
		values []float64
		stop   int // the epoch after which it stops; 0: never
		reason string
	}{
		{EarlyStopping{Patience: 2, Monitor: MonitorValLoss, MinDelta: 0.01}, []float64{1, 0.995, 0.9, 0.895, 0.891, 0.5}, 5,
			"early stopping: val_loss has not improved by more than 0.01 for 2 epochs (best 0.9000 at epoch 3)"},
		{EarlyStopping{Patience: 1, Monitor: MonitorValAcc}, []float64{0.5, 0.6, 0.7, 0.8, 0.8}, 0, ""},
		{EarlyStopping{Patience: 1, Monitor: MonitorValAcc}, []float64{0.5, 0.6, 0.6, 0.7, 0.8}, 3,
			"early stopping: val_acc has not improved by more than 0 for 1 epoch (best 0.6000 at epoch 2)"},
	} {
		tr := &trainer{cfg: TrainConfig{Epochs: len(c.values), EarlyStopping: c.e}, st: &TrainState{}}
		stopped := 0
		for e, v := range c.values {
			if why := tr.earlyStop(EpochStats{Epoch: e + 1, ValLoss: v, ValAcc: v}); why != "" {
				if why != c.reason {
					t.Errorf("%+v: %q, want %q", c.e, why, c.reason)
				}
				stopped = e + 1
				break
			}
		}
		if stopped != c.stop {
			t.Errorf("%+v on %v: stopped after epoch %d, want %d", c.e, c.values, stopped, c.stop)
		}
	}
}

// TestValidationMetricsNeedValidation refuses early stopping and the
// plateau schedule without validation data before any step.
func TestValidationMetricsNeedValidation(t *testing.T) {
	ctx := vktest.Open(t)
	images, labels := randomSet(rand.New(rand.NewPCG(5, 6)), 16)
	net := newTestNet(t, ctx, tinySpec(), 8, 1)
	set, err := net.Upload(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	for want, cfg := range map[string]TrainConfig{
		"early stopping needs validation data":       {EarlyStopping: EarlyStopping{Patience: 2, Monitor: MonitorValLoss}},
		"the plateau schedule needs validation data": {Schedule: Schedule{Name: SchedPlateau, Patience: 1, Factor: 0.5, Monitor: MonitorValLoss}},
	} {
		cfg.Epochs, cfg.BatchSize, cfg.LR = 1, 8, 1e-3
		steps := 0
		_, err := Train(net, set, nil, cfg, &Hooks{Progress: func(Progress) { steps++ }}, nil)
		if err == nil || err.Error() != want || steps != 0 {
			t.Errorf("%v after %d steps, want %q before any", err, steps, want)
		}
	}
}

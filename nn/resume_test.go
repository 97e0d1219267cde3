package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk"
	"github.com/vkcnn/vkcnn/vk/vktest"
)

// TestStopAndResumeIsBitIdentical stops a run after k steps (mid-epoch and
// at an epoch's end), resumes it from its checkpoint file in a new network,
// and expects exactly the weights of an uninterrupted run, and its log
// rows: those of the stopped run up to the checkpoint, then the resumed
// run's, with none twice or missing.
// Each optimizer and schedule does so: its state is in the checkpoint.
func TestStopAndResumeIsBitIdentical(t *testing.T) {
	ctx := vktest.Open(t)
	base := TrainConfig{Epochs: 3, BatchSize: 8, StepsPerEpoch: 5, LR: 1e-3, Seed: 4, Shuffle: true,
		Augment: augment.Config{ShiftFrac: 0.1}, ValSplit: 0.2, KeepBest: true, LogEvery: 2}
	recipes := map[string]func(*TrainConfig){
		"adam": func(*TrainConfig) {},
		"sgd nesterov cosine, clipped, smoothed": func(c *TrainConfig) {
			c.LR = 0.05
			c.Optimizer = Optimizer{Name: OptSGD, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, NoDecayBiasBN: true, ClipNorm: 0.5}
			c.Schedule = Schedule{Name: SchedCosine, WarmupEpochs: 0.5, MinLR: 1e-4}
			c.LabelSmoothing = 0.1
		},
		"adamw onecycle": func(c *TrainConfig) {
			c.Optimizer, _ = DefaultOptimizer(OptAdamW)
			c.Schedule = Schedule{Name: SchedOneCycle}
		},
		"rmsprop plateau": func(c *TrainConfig) {
			c.Optimizer = Optimizer{Name: OptRMSprop, Rho: 0.9, Epsilon: 1e-7, WeightDecay: 1e-3}
			c.Schedule = Schedule{Name: SchedPlateau, Patience: 0, Factor: 0.5, Monitor: MonitorValAcc}
		},
	}
	for name, recipe := range recipes {
		t.Run(name, func(t *testing.T) {
			cfg := base
			recipe(&cfg)
			testStopAndResume(t, ctx, cfg)
		})
	}
}

func testStopAndResume(t *testing.T, ctx *vk.Context, cfg TrainConfig) {
	rng := rand.New(rand.NewPCG(21, 22))
	images, labels := randomSet(rng, 70)
	m, err := Build(tinySpec())
	if err != nil {
		t.Fatal(err)
	}
	run := func(params, adamM, adamV []float32, hooks *Hooks, resume *TrainState) ([]float32, []EpochStats, error) {
		net := newTestNet(t, ctx, tinySpec(), 8, 4)
		if params != nil {
			if err := errors.Join(net.SetParams(params), net.SetOptimizerState(adamM, adamV)); err != nil {
				t.Fatal(err)
			}
		}
		set, err := net.Upload(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		history, trainErr := Train(net, set, nil, cfg, hooks, resume)
		p, err := net.Params()
		if err != nil {
			t.Fatal(err)
		}
		return p, history, trainErr
	}
	var rows []StepLog
	logTo := func(to *[]StepLog) func(StepLog) error {
		return func(r StepLog) error {
			r.ImagesPerSecond = 0 // the one field that depends on the clock
			*to = append(*to, r)
			return nil
		}
	}
	want, wantHistory, err := run(nil, nil, nil, &Hooks{Log: logTo(&rows)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Rows after steps 2, 4 and 5 of each epoch, each the mean of its own
	// steps: weighted by their samples, they make the epoch's loss.
	if len(rows) != 9 || rows[1].Step != 4 || rows[2].Step != 5 || rows[2].Epoch != 1 || rows[3].Epoch != 1.4 || rows[8].Images != 15*8 || (cfg.Schedule.Name == "" && rows[0].LR != 1e-3) {
		t.Fatalf("log rows %+v", rows)
	}
	for e, h := range wantHistory {
		r := rows[3*e : 3*e+3]
		mean := (2*r[0].Loss + 2*r[1].Loss + r[2].Loss) / 5
		if math.Abs(mean-h.Loss) > 1e-5*h.Loss {
			t.Fatalf("epoch %d: rows %+v average %g, the epoch's loss is %g", e+1, r, mean, h.Loss)
		}
	}
	for _, k := range []int{3, 5, 12} {
		path := filepath.Join(t.TempDir(), "checkpoint.safetensors")
		steps := 0
		var saved *Net
		var before, after []StepLog
		hooks := &Hooks{
			Log:  logTo(&before),
			Stop: func() bool { steps++; return steps == k },
			Checkpoint: func(st *TrainState) error {
				return saved.SaveCheckpoint(path, cfg, st)
			},
		}
		// The first run's network must be reachable from the hook.
		netRun := func() error {
			net := newTestNet(t, ctx, tinySpec(), 8, 4)
			saved = net
			set, err := net.Upload(images, labels)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Train(net, set, nil, cfg, hooks, nil)
			return err
		}
		if err := netRun(); !errors.Is(err, ErrStopped) {
			t.Fatalf("k=%d: stopping: %v", k, err)
		}
		params, adamM, adamV, loadedCfg, st, err := m.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(loadedCfg, cfg) {
			t.Fatalf("k=%d: configuration changed in the checkpoint: %+v", k, loadedCfg)
		}
		got, history, err := run(params, adamM, adamV, &Hooks{Log: logTo(&after)}, st)
		if err != nil {
			t.Fatalf("k=%d: resuming: %v", k, err)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("k=%d: parameter %d is %g after resuming, %g uninterrupted", k, i, got[i], want[i])
			}
		}
		if len(history) != len(wantHistory) || history[2].Loss != wantHistory[2].Loss || history[2].ValAcc != wantHistory[2].ValAcc {
			t.Fatalf("k=%d: history %+v, want %+v", k, history, wantHistory)
		}
		kept := before[:0]
		for _, r := range before {
			if r.Step <= int(st.Counter) {
				kept = append(kept, r)
			}
		}
		if joined := append(kept, after...); !slices.Equal(joined, rows) {
			t.Fatalf("k=%d: log rows\n%+v\nthen\n%+v\nwant\n%+v", k, kept, after, rows)
		}
	}
}

package nn

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vkcnn/vkcnn/vk/vktest"
)

// torchPython is a python3 that imports torch, or "" (Debian's
// python3-torch is /usr/bin/python3's, which may not be the first python3
// on the PATH).
func torchPython() string {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import torch").Run() == nil {
			return py
		}
	}
	return ""
}

// parityRecipes are the training-parity test's optimizers and schedules
// (the first, today's Adam, sets the bound) at their rates. A recipe runs
// from inits initialisations (seeds 1 to inits; 0 is 1) and for epochs
// epochs (0 is 2) of 10 steps; with plateau, on validation images too.
var parityRecipes = []struct {
	name      string
	lr        float64
	opt       Optimizer
	schedule  Schedule
	smoothing float64
	inits     int
	epochs    int
}{
	// The largest weight difference after 20 steps is one weight's, moved
	// by a step or more where a ReLU or a pooling window's maximum flipped
	// on a last bit in one of the two: at one initialisation it is a draw
	// (seeds 1 to 3: Adam 8.7e-4, 1.6e-2, 4.9e-3; RMSprop 3.7e-3, 8.7e-6,
	// 4.2e-4; PyTorch in float32 against itself in float64 draws RMSprop's
	// over Adam's from 0.004 to 17). Adam and RMSprop, whose normalised
	// steps make a flip a whole step, are compared over three.
	{"adam (Keras 2.0)", 1e-3, Optimizer{}, Schedule{}, 0, 3, 0},
	{"adam, L2 1e-4, multistep", 1e-3, Optimizer{Name: OptAdam, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-4},
		Schedule{Name: SchedMultiStep, StepEpochs: []int{1}, Gamma: 0.1}, 0, 0, 0},
	{"sgd", 0.05, Optimizer{Name: OptSGD}, Schedule{Name: SchedConstant}, 0, 0, 0},
	{"sgd momentum, wd 5e-4, step, warmup", 0.05, Optimizer{Name: OptSGD, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule{Name: SchedStep, StepEpochs: []int{1}, Gamma: 0.5, WarmupEpochs: 0.5}, 0, 0, 0},
	{"sgd nesterov, wd 5e-4 not biases, cosine, warmup", 0.05, Optimizer{Name: OptSGD, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, NoDecayBiasBN: true},
		Schedule{Name: SchedCosine, WarmupEpochs: 0.2}, 0, 0, 0},
	{"adamw, wd 1e-2, onecycle", 1e-3, Optimizer{Name: OptAdamW, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-2},
		Schedule{Name: SchedOneCycle}, 0, 0, 0},
	{"adamw, wd 0.1 not biases, cosine to 1e-4", 1e-3, Optimizer{Name: OptAdamW, Beta1: 0.85, Beta2: 0.99, Epsilon: 1e-7, WeightDecay: 0.1, NoDecayBiasBN: true},
		Schedule{Name: SchedCosine, MinLR: 1e-4}, 0, 0, 0},
	// RMSprop's first update is lr / sqrt(1 - rho) a parameter, 10 lr: at
	// 1e-4 its first step is as long as Adam's at 1e-3. (At 1e-3, ten
	// times as long, its largest difference is 3.8e-2, 2.4 times Adam's
	// over the same three.)
	{"rmsprop, L2 1e-4, exponential", 1e-4, Optimizer{Name: OptRMSprop, Rho: 0.99, Epsilon: 1e-8, WeightDecay: 1e-4},
		Schedule{Name: SchedExponential, Gamma: 0.7}, 0, 3, 0},
	{"sgd momentum, clip 0.5, label smoothing 0.1", 0.05, Optimizer{Name: OptSGD, Momentum: 0.9, WeightDecay: 5e-4, ClipNorm: 0.5},
		Schedule{Name: SchedConstant}, 0.1, 0, 0},
	{"adamw, clip 2, label smoothing 0.2", 1e-3, Optimizer{Name: OptAdamW, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-2, ClipNorm: 2},
		Schedule{Name: SchedConstant}, 0.2, 0, 0},
	// The plateau schedule on the loss (mode min: it falls each epoch, so
	// the rate stays) and on the accuracy of 16 images (mode max: it
	// stalls, so the rate falls); PyTorch's ReduceLROnPlateau steps on
	// vkcnn's validation figures.
	{"sgd, plateau on val_loss", 0.05, Optimizer{Name: OptSGD},
		Schedule{Name: SchedPlateau, Monitor: MonitorValLoss, Patience: 0, Factor: 0.5}, 0, 0, 4},
	{"sgd, plateau on val_acc", 0.05, Optimizer{Name: OptSGD},
		Schedule{Name: SchedPlateau, Monitor: MonitorValAcc, Patience: 0, Factor: 0.5, MinLR: 0.02}, 0, 0, 5},
}

// TestTrainingMatchesPyTorch trains the small model for 20 steps (2 epochs
// of 10, batch 32, MNIST's first 320 training images in order, no dropout,
// augmentation or shuffling; the plateau schedules 4 or 5 epochs, with 16
// test images for validation) from the same initial weights with each
// recipe, as bench/torch_train.py does in PyTorch, and wants every
// optimizer's largest weight difference within twice that of today's Adam
// (Keras' update written out in PyTorch) over the same initialisations,
// every step's rate equal to PyTorch's schedulers' to 1e-12 relative, and
// the first batch's loss (label smoothing) and gradient norm (clipping)
// equal to PyTorch's to float32's precision. It skips where no python3
// imports torch: `apt-get install python3-torch` (Debian) runs it.
func TestTrainingMatchesPyTorch(t *testing.T) {
	py := torchPython()
	if py == "" {
		t.Skip("no python3 here imports torch (Debian: apt-get install python3-torch)")
	}
	train, test := loadMNIST(t)
	ctx := vktest.Open(t)
	const batch, perEpoch, valImages = 32, 10, 16
	spec, _ := Preset("small")
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modelJSON, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	type recipe struct {
		Name      string    `json:"name"`
		Init      string    `json:"init"`
		Epochs    int       `json:"epochs"`
		LR        float64   `json:"lr"`
		Optimizer Optimizer `json:"optimizer"`
		Schedule  Schedule  `json:"schedule"`
		Smoothing float64   `json:"label_smoothing"`
		Weights   string    `json:"weights"`
		Rates     []float64 `json:"rates"`
		Losses    []float64 `json:"losses"`  // each step's training loss
		Norms     []float64 `json:"norms"`   // each step's gradient norm before clipping, where it clips
		Metrics   []float64 `json:"metrics"` // each epoch's monitored validation figure, for a plateau
	}
	var recipes []recipe
	var of []int // the parityRecipes index of each recipe
	n := batch * perEpoch
	for i, r := range parityRecipes {
		for seed := uint64(1); seed <= uint64(max(r.inits, 1)); seed++ {
			init := filepath.Join(dir, fmt.Sprintf("init%d.safetensors", seed))
			if _, err := os.Stat(init); err != nil {
				if err := m.SaveWeights(init, m.Init(seed)); err != nil {
					t.Fatal(err)
				}
			}
			net := newTestNet(t, ctx, spec, batch, seed)
			set, err := net.Upload(train.Images[:n*m.Input().Size()], train.Labels[:n])
			if err != nil {
				t.Fatal(err)
			}
			var val *DeviceSet
			if r.schedule.Name == SchedPlateau {
				if val, err = net.Upload(test.Images[:valImages*m.Input().Size()], test.Labels[:valImages]); err != nil {
					t.Fatal(err)
				}
			}
			epochs := cmp.Or(r.epochs, 2)
			cfg := TrainConfig{Epochs: epochs, BatchSize: batch, StepsPerEpoch: perEpoch, LR: r.lr, Optimizer: r.opt, Schedule: r.schedule,
				LabelSmoothing: r.smoothing, Seed: 1, LogEvery: 1}
			rec := recipe{Name: fmt.Sprintf("%s (init %d)", r.name, seed), Init: init, Epochs: epochs, LR: r.lr, Optimizer: r.opt.resolved(),
				Schedule: r.schedule, Smoothing: r.smoothing, Weights: filepath.Join(dir, fmt.Sprintf("weights%d.safetensors", len(recipes)))}
			hooks := &Hooks{Log: func(row StepLog) error {
				rec.Rates, rec.Losses = append(rec.Rates, row.LR), append(rec.Losses, row.Loss)
				if r.opt.ClipNorm > 0 {
					rec.Norms = append(rec.Norms, row.GradNorm)
				}
				return nil
			}, Epoch: func(es EpochStats) error {
				if val != nil {
					rec.Metrics = append(rec.Metrics, monitored(es, r.schedule.Monitor))
				}
				return nil
			}}
			if _, err := Train(net, set, val, cfg, hooks, nil); err != nil {
				t.Fatalf("%s: %v", rec.Name, err)
			}
			params, err := net.Params()
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SaveWeights(rec.Weights, params); err != nil {
				t.Fatal(err)
			}
			recipes, of = append(recipes, rec), append(of, i)
		}
	}
	plan, err := json.Marshal(map[string]any{"batch": batch, "steps_per_epoch": perEpoch, "recipes": recipes})
	if err != nil {
		t.Fatal(err)
	}
	modelPath, planPath := filepath.Join(dir, "model.json"), filepath.Join(dir, "recipes.json")
	if err := os.WriteFile(modelPath, modelJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planPath, plan, 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := filepath.Abs(filepath.Join("..", "data", "mnist"))
	if d := os.Getenv("VKCNN_DATA"); d != "" {
		data = d
	}
	var stderr bytes.Buffer
	cmd := exec.Command(py, "../bench/torch_train.py", modelPath, "--recipes", planPath, "--data", data)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch_train.py: %v: %s", err, stderr.String())
	}
	diffs := make([][]float64, len(parityRecipes)) // each recipe's largest weight difference at each initialisation
	results := 0
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); results++ {
		var res struct {
			Name      string  `json:"name"`
			Diff      float64 `json:"max_abs_weight_difference"`
			MaxWeight float64 `json:"max_weight"`
			RateDiff  float64 `json:"max_rel_rate_difference"`
			LossDiff  float64 `json:"first_loss_rel_difference"`
			NormDiff  float64 `json:"first_norm_rel_difference"`
			Torch     string  `json:"torch"`
		}
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Fatalf("torch_train.py: %v: %s", err, sc.Text())
		}
		if results >= len(recipes) || res.Name != recipes[results].Name {
			t.Fatalf("torch_train.py's result %d is %q", results, res.Name)
		}
		t.Logf("%-60s largest weight difference %.3g (largest weight %.3g), largest rate difference %.2g relative; first step's loss %.2g, gradient norm %.2g relative (PyTorch %s)",
			res.Name, res.Diff, res.MaxWeight, res.RateDiff, res.LossDiff, res.NormDiff, res.Torch)
		if res.LossDiff > 1e-6 || res.NormDiff > 1e-5 {
			t.Errorf("%s: the first step's loss differs from PyTorch's by %.3g relative, its gradient norm by %.3g", res.Name, res.LossDiff, res.NormDiff)
		}
		if res.RateDiff > 1e-12 {
			t.Errorf("%s: a step's rate differs from PyTorch's by %.3g relative", res.Name, res.RateDiff)
		}
		if m := recipes[results].Metrics; m != nil {
			t.Logf("%-60s monitored %v, rates %v", "", m, slices.Compact(slices.Clone(recipes[results].Rates)))
		}
		diffs[of[results]] = append(diffs[of[results]], res.Diff)
	}
	if results != len(recipes) {
		t.Fatalf("torch_train.py gave %d results for %d recipes: %s", results, len(recipes), stderr.String())
	}
	for i, r := range parityRecipes[1:] {
		d := diffs[i+1]
		if got, adam := slices.Max(d), slices.Max(diffs[0][:len(d)]); got > 2*adam {
			t.Errorf("%s: largest weight difference %.3g over %d initialisations, over twice Adam's (%.3g)", r.name, got, len(d), adam)
		}
	}
	for i, r := range recipes {
		if rs := parityRecipes[of[i]].schedule; rs.Monitor == MonitorValAcc && r.Rates[len(r.Rates)-1] == r.LR {
			t.Errorf("%s: the rate never fell (accuracies %v): the test checks no reduction", r.Name, r.Metrics)
		}
	}
}

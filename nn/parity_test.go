package nn

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
// (the first, today's Adam, sets the bound) at their rates.
var parityRecipes = []struct {
	name      string
	lr        float64
	opt       Optimizer
	schedule  Schedule
	smoothing float64
	// bound is the largest weight difference allowed, in Adam's: 2 but
	// for RMSprop (below).
	bound float64
}{
	{"adam (Keras 2.0)", 1e-3, Optimizer{}, Schedule{}, 0, 2},
	{"adam, L2 1e-4, multistep", 1e-3, Optimizer{Name: OptAdam, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-4},
		Schedule{Name: SchedMultiStep, StepEpochs: []int{1}, Gamma: 0.1}, 0, 2},
	{"sgd", 0.05, Optimizer{Name: OptSGD}, Schedule{Name: SchedConstant}, 0, 2},
	{"sgd momentum, wd 5e-4, step, warmup", 0.05, Optimizer{Name: OptSGD, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule{Name: SchedStep, StepEpochs: []int{1}, Gamma: 0.5, WarmupEpochs: 0.5}, 0, 2},
	{"sgd nesterov, wd 5e-4 not biases, cosine, warmup", 0.05, Optimizer{Name: OptSGD, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, NoDecayBiasBN: true},
		Schedule{Name: SchedCosine, WarmupEpochs: 0.2}, 0, 2},
	{"adamw, wd 1e-2, onecycle", 1e-3, Optimizer{Name: OptAdamW, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-2},
		Schedule{Name: SchedOneCycle}, 0, 2},
	{"adamw, wd 0.1 not biases, cosine to 1e-4", 1e-3, Optimizer{Name: OptAdamW, Beta1: 0.85, Beta2: 0.99, Epsilon: 1e-7, WeightDecay: 0.1, NoDecayBiasBN: true},
		Schedule{Name: SchedCosine, MinLR: 1e-4}, 0, 2},
	// RMSprop's first update is lr / sqrt(1 - rho) a parameter, 10 lr: at
	// 1e-4 its steps are as long as Adam's at 1e-3. Without momentum it
	// does not average a gradient whose sign differs at one step (a ReLU
	// or a pooling window's maximum that flips on a last bit) as Adam's m
	// does, and its weight moves by a whole step: at seed 1 its largest
	// difference is 4.3 times Adam's (at another initialisation 0.5
	// times), so its bound is 5 times, not 2.
	{"rmsprop, L2 1e-4, exponential", 1e-4, Optimizer{Name: OptRMSprop, Rho: 0.99, Epsilon: 1e-8, WeightDecay: 1e-4},
		Schedule{Name: SchedExponential, Gamma: 0.7}, 0, 5},
	{"sgd momentum, clip 0.5, label smoothing 0.1", 0.05, Optimizer{Name: OptSGD, Momentum: 0.9, WeightDecay: 5e-4, ClipNorm: 0.5},
		Schedule{Name: SchedConstant}, 0.1, 2},
	{"adamw, clip 2, label smoothing 0.2", 1e-3, Optimizer{Name: OptAdamW, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, WeightDecay: 1e-2, ClipNorm: 2},
		Schedule{Name: SchedConstant}, 0.2, 2},
}

// TestTrainingMatchesPyTorch trains the small model for 20 steps (2 epochs
// of 10, batch 32, MNIST's first 320 training images in order, no dropout,
// augmentation or shuffling) from the same initial weights with each
// recipe, as bench/torch_train.py does in PyTorch, and wants every
// optimizer's largest weight difference within twice that of today's Adam
// (Keras' update written out in PyTorch), every step's rate equal to
// PyTorch's schedulers' to 1e-12 relative, and the first batch's loss
// (label smoothing) and gradient norm (clipping) equal to PyTorch's to
// float32's precision. It skips where no python3
// imports torch: `apt-get install python3-torch` (Debian) runs it.
func TestTrainingMatchesPyTorch(t *testing.T) {
	py := torchPython()
	if py == "" {
		t.Skip("no python3 here imports torch (Debian: apt-get install python3-torch)")
	}
	train, _ := loadMNIST(t)
	ctx := vktest.Open(t)
	const batch, perEpoch, epochs = 32, 10, 2
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
	init := m.Init(1)
	if err := m.SaveWeights(filepath.Join(dir, "init.safetensors"), init); err != nil {
		t.Fatal(err)
	}
	type recipe struct {
		Name      string    `json:"name"`
		LR        float64   `json:"lr"`
		Optimizer Optimizer `json:"optimizer"`
		Schedule  Schedule  `json:"schedule"`
		Smoothing float64   `json:"label_smoothing"`
		Weights   string    `json:"weights"`
		Rates     []float64 `json:"rates"`
		Losses    []float64 `json:"losses"` // each step's training loss
		Norms     []float64 `json:"norms"`  // each step's gradient norm before clipping, where it clips
	}
	var recipes []recipe
	n := batch * perEpoch
	for i, r := range parityRecipes {
		net := newTestNet(t, ctx, spec, batch, 1)
		set, err := net.Upload(train.Images[:n*m.Input().Size()], train.Labels[:n])
		if err != nil {
			t.Fatal(err)
		}
		cfg := TrainConfig{Epochs: epochs, BatchSize: batch, StepsPerEpoch: perEpoch, LR: r.lr, Optimizer: r.opt, Schedule: r.schedule,
			LabelSmoothing: r.smoothing, Seed: 1, LogEvery: 1}
		rec := recipe{Name: r.name, LR: r.lr, Optimizer: r.opt.resolved(), Schedule: r.schedule, Smoothing: r.smoothing,
			Weights: filepath.Join(dir, "weights"+string(rune('a'+i))+".safetensors")}
		hooks := &Hooks{Log: func(row StepLog) error {
			rec.Rates, rec.Losses = append(rec.Rates, row.LR), append(rec.Losses, row.Loss)
			if r.opt.ClipNorm > 0 {
				rec.Norms = append(rec.Norms, row.GradNorm)
			}
			return nil
		}}
		if _, err := Train(net, set, nil, cfg, hooks, nil); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		params, err := net.Params()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SaveWeights(rec.Weights, params); err != nil {
			t.Fatal(err)
		}
		recipes = append(recipes, rec)
	}
	plan, err := json.Marshal(map[string]any{"batch": batch, "steps_per_epoch": perEpoch, "epochs": epochs, "recipes": recipes})
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
	cmd := exec.Command(py, "../bench/torch_train.py", modelPath, "--init", filepath.Join(dir, "init.safetensors"), "--recipes", planPath, "--data", data)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch_train.py: %v: %s", err, stderr.String())
	}
	var adam float64
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
		t.Logf("%-50s largest weight difference %.3g (largest weight %.3g), largest rate difference %.2g relative; first step's loss %.2g, gradient norm %.2g relative (PyTorch %s)",
			res.Name, res.Diff, res.MaxWeight, res.RateDiff, res.LossDiff, res.NormDiff, res.Torch)
		if res.LossDiff > 1e-6 || res.NormDiff > 1e-5 {
			t.Errorf("%s: the first step's loss differs from PyTorch's by %.3g relative, its gradient norm by %.3g", res.Name, res.LossDiff, res.NormDiff)
		}
		if results == 0 {
			adam = res.Diff
		} else if bound := parityRecipes[results].bound; res.Diff > bound*adam {
			t.Errorf("%s: largest weight difference %.3g, over %g times Adam's (%.3g)", res.Name, res.Diff, bound, adam)
		}
		if res.RateDiff > 1e-12 {
			t.Errorf("%s: a step's rate differs from PyTorch's by %.3g relative", res.Name, res.RateDiff)
		}
	}
	if results != len(parityRecipes) {
		t.Fatalf("torch_train.py gave %d results for %d recipes: %s", results, len(parityRecipes), stderr.String())
	}
}

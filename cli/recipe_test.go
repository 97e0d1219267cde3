package cli

import (
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
)

// TestBadRecipe refuses each bad optimizer or schedule setting before any
// work (no data is read: --data does not exist), in one line, status 1.
// The README's table of recipe errors has a row for each.
func TestBadRecipe(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--lr", "-0.1"}, "learning rate -0.1 must be a positive number"},
		{[]string{"--lr", "NaN"}, "learning rate NaN must be a positive number"},
		{[]string{"--optimizer", "lion"}, `--optimizer "lion": adam, sgd, adamw, rmsprop`},
		{[]string{"--optimizer", "sgd", "--momentum", "1"}, "--optimizer sgd: momentum 1 outside [0, 1)"},
		{[]string{"--optimizer", "sgd", "--momentum", "-0.5"}, "--optimizer sgd: momentum -0.5 outside [0, 1)"},
		{[]string{"--optimizer", "sgd", "--nesterov"}, "--optimizer sgd: Nesterov momentum needs a momentum above 0"},
		{[]string{"--momentum", "0.9"}, "--momentum: the adam optimizer does not take it (adam takes --beta1, --beta2, --epsilon, --weight-decay, --no-decay-bias-bn)"},
		{[]string{"--optimizer", "sgd", "--beta1", "0.8"}, "--beta1: the sgd optimizer does not take it"},
		{[]string{"--optimizer", "adamw", "--beta2", "1"}, "--optimizer adamw: beta2 1 outside [0, 1)"},
		{[]string{"--optimizer", "rmsprop", "--rho", "1.5"}, "--optimizer rmsprop: rho 1.5 outside [0, 1)"},
		{[]string{"--epsilon", "0"}, "--optimizer adam: epsilon 0 must be a positive number"},
		{[]string{"--weight-decay", "-1e-4"}, "--optimizer adam: weight decay -0.0001 must be a number, 0 or more"},
		{[]string{"--no-decay-bias-bn"}, "--no-decay-bias-bn: the adam optimizer has no weight decay (give --weight-decay)"},
		{[]string{"--lr-schedule", "linear"}, `--lr-schedule "linear": constant, step, multistep, exponential, cosine, onecycle, plateau`},
		{[]string{"--lr-schedule", "cosine", "--lr-gamma", "0.5"}, "--lr-gamma: the cosine schedule does not take it"},
		{[]string{"--lr-step-epochs", "3"}, "--lr-step-epochs: the constant schedule does not take it"},
		{[]string{"--lr-schedule", "onecycle", "--warmup-epochs", "1"}, "--warmup-epochs: the onecycle schedule does not take it"},
		{[]string{"--lr-schedule", "step"}, "--lr-schedule step needs --lr-step-epochs"},
		{[]string{"--lr-schedule", "step", "--lr-step-epochs", "3,6"}, "step schedule: --lr-step-epochs takes one period of epochs above 0, not [3 6]"},
		{[]string{"--lr-schedule", "multistep", "--lr-step-epochs", "6,3"}, "multistep schedule: --lr-step-epochs takes epochs above 0 in increasing order, not [6 3]"},
		{[]string{"--lr-schedule", "exponential"}, "--lr-schedule exponential needs --lr-gamma"},
		{[]string{"--lr-schedule", "exponential", "--lr-gamma", "0"}, "exponential schedule: gamma 0 must be a positive number"},
		{[]string{"--lr-schedule", "cosine", "--lr-min", "0.01", "--lr", "0.01"}, "cosine schedule: minimum rate 0.01 outside [0, the rate 0.01)"},
		{[]string{"--warmup-epochs", "-1"}, "warmup of -1 epochs must be a number, 0 or more"},
		{[]string{"--lr-schedule", "plateau", "--plateau-monitor", "acc"}, `plateau schedule: monitor "acc": val_loss or val_acc`},
		{[]string{"--lr-schedule", "plateau", "--plateau-factor", "1"}, "plateau schedule: factor 1 outside (0, 1)"},
		{[]string{"--lr-schedule", "plateau", "--plateau-patience", "-1"}, "plateau schedule: patience -1 must not be negative"},
		{[]string{"--early-stopping", "0"}, "--early-stopping 0: the epochs without improvement must be 1 or more"},
		{[]string{"--monitor", "val_acc"}, "--monitor is early stopping's: give --early-stopping N"},
		{[]string{"--early-stopping", "3", "--monitor", "accuracy"}, `early stopping: monitor "accuracy": val_loss or val_acc`},
		{[]string{"--early-stopping", "3", "--min-delta", "-0.1"}, "early stopping: minimum change -0.1 must be a number, 0 or more"},
		{[]string{"--label-smoothing", "1.5"}, "label smoothing 1.5 outside [0, 1]"},
		{[]string{"--clip-norm", "-1"}, "--optimizer adam: clip norm -1 must be a number, 0 or more"},
	} {
		args := append([]string{"train", "--model", "small", "--data", "/nonexistent", "--out", t.TempDir() + "/r"}, c.args...)
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, stderr, status := runVkcnn(t, nil, args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if status != 1 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("status %d, stderr %q; want status 1 and one line with %q", status, stderr, c.want)
			}
		})
	}
}

// TestEarlyStoppingAndPlateau trains an early-stopped run (nothing
// improves by more than --min-delta 10), resumes it (nothing to do), and
// trains on a plateau (at a rate too small to move the validation
// accuracy, which halves the rate after every epoch but the first), as a
// user would: the epoch lines, run.json and steps.csv say what happened.
func TestEarlyStoppingAndPlateau(t *testing.T) {
	data := dataDir(t)
	dir := t.TempDir()
	common := []string{"train", "--model", "small", "--data", data, "--steps-per-epoch", "2", "--val-split", "0.01", "--log-every", "1"}
	stopped := filepath.Join(dir, "stopped")
	out := mustRun(t, append(common, "--epochs", "4", "--out", stopped, "--early-stopping", "1", "--min-delta", "10", "--keep", "best")...)
	why := "early stopping: val_loss has not improved by more than 10 for 1 epoch (best "
	if !regexp.MustCompile(`Epoch 2/4 - .* - stopped: `+regexp.QuoteMeta(why)+`[0-9.]+ at epoch 1\)`).MatchString(out) || strings.Contains(out, "Epoch 3/4") {
		t.Fatalf("the epoch lines do not say the run stopped after epoch 2:\n%s", out)
	}
	rec, err := runfolder.ReadRecord(stopped)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Stopped == nil || rec.Stopped.Epoch != 2 || !strings.HasPrefix(rec.Stopped.Reason, why) || rec.Config.EarlyStopping.Patience != 1 {
		t.Fatalf("run.json: stopped %+v, config %+v", rec.Stopped, rec.Config.EarlyStopping)
	}
	_, stderr, status := runVkcnn(t, nil, "train", "--resume", stopped, "--data", data, "--epochs", "6")
	if status != 0 || !strings.Contains(stderr, "stopped after epoch 2 (early stopping: ") || !strings.Contains(stderr, "nothing to do") {
		t.Fatalf("--resume of a stopped run: status %d, %q", status, stderr)
	}

	plateau := filepath.Join(dir, "plateau")
	mustRun(t, append(common, "--epochs", "4", "--out", plateau, "--optimizer", "sgd", "--lr", "1e-5",
		"--lr-schedule", "plateau", "--plateau-monitor", "val_acc", "--plateau-patience", "0", "--plateau-factor", "0.5")...)
	steps, err := report.ReadSteps(filepath.Join(plateau, runfolder.StepsFile))
	if err != nil {
		t.Fatal(err)
	}
	var rates []float64
	for _, s := range steps {
		rates = append(rates, s.LR)
	}
	if want := []float64{1e-5, 1e-5, 1e-5, 1e-5, 5e-6, 5e-6, 2.5e-6, 2.5e-6}; !slices.Equal(rates, want) {
		t.Fatalf("steps.csv's rates %v, want %v", rates, want)
	}
	if rec, err := runfolder.ReadRecord(plateau); err != nil || rec.Config.Schedule.Name != "plateau" || rec.Config.Optimizer.Name != "sgd" {
		t.Fatalf("run.json: %+v, %v", rec.Config, err)
	}

	// A cosine fitted to 1 epoch cannot be stretched by --resume.
	cosine := filepath.Join(dir, "cosine")
	mustRun(t, append(common, "--epochs", "1", "--out", cosine, "--optimizer", "sgd", "--lr", "0.01", "--lr-schedule", "cosine")...)
	_, stderr, status = runVkcnn(t, nil, "train", "--resume", cosine, "--data", data, "--epochs", "3")
	if want := "its cosine schedule is fitted to its 1 epoch: --epochs 3 would move the rates of the steps it has taken"; status != 1 || !strings.Contains(stderr, want) {
		t.Fatalf("--resume --epochs of a cosine run: status %d, %q; want 1 and %q", status, stderr, want)
	}
}

// TestPresetRecipe: resnet20's recipe is its default where no flag names
// a part of it, and a flag wins over its own part only (no training).
func TestPresetRecipe(t *testing.T) {
	sgd := nn.Optimizer{Name: nn.OptSGD, Momentum: 0.9, WeightDecay: 1e-4}
	adam, _ := nn.DefaultOptimizer(nn.OptAdam)
	cosine := nn.Schedule{Name: nn.SchedCosine, WarmupEpochs: 0.1}
	constant := nn.Schedule{Name: nn.SchedConstant}
	for _, c := range []struct {
		args  []string
		lr    float64
		batch int
		opt   nn.Optimizer
		sched nn.Schedule
	}{
		{[]string{"--model", "resnet20"}, 0.1, 128, sgd, cosine},
		{[]string{"--model", "resnet20", "--lr", "0.05", "--batch-size", "64"}, 0.05, 64, sgd, cosine},
		{[]string{"--model", "resnet20", "--optimizer", "sgd"}, 0.1, 128, sgd, cosine},
		{[]string{"--model", "resnet20", "--weight-decay", "5e-4", "--momentum", "0.8", "--nesterov"}, 0.1, 128,
			nn.Optimizer{Name: nn.OptSGD, Momentum: 0.8, Nesterov: true, WeightDecay: 5e-4}, cosine},
		{[]string{"--model", "resnet20", "--warmup-epochs", "0.3", "--lr-min", "1e-3"}, 0.1, 128, sgd,
			nn.Schedule{Name: nn.SchedCosine, WarmupEpochs: 0.3, MinLR: 1e-3}},
		{[]string{"--model", "resnet20", "--lr-schedule", "constant"}, 0.1, 128, sgd, constant},
		{[]string{"--model", "resnet20", "--optimizer", "adam"}, 5e-4, 128, adam, cosine},
		{[]string{"--model", "resnet20", "--optimizer", "adam", "--lr", "1e-3", "--lr-schedule", "constant"}, 1e-3, 128, adam, constant},
		{[]string{"--model", "small"}, 1e-3, 32, adam, constant},
		{[]string{"--model", "small", "--optimizer", "sgd", "--lr-schedule", "cosine"}, 1e-3, 32,
			nn.Optimizer{Name: nn.OptSGD}, nn.Schedule{Name: nn.SchedCosine}},
		{nil, 5e-4, 64, adam, constant},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var cfg nn.TrainConfig
			app := newApp(io.Discard, io.Discard)
			for _, cmd := range app.Commands {
				if cmd.Name == "train" {
					cmd.Action = func(ctx *cli.Context) error {
						opts, err := trainOptions(ctx)
						if err != nil {
							return err
						}
						cfg, err = opts.Config()
						return err
					}
				}
			}
			if err := app.Run(append([]string{"vkcnn", "train", "--out", t.TempDir()}, c.args...)); err != nil {
				t.Fatal(err)
			}
			if cfg.LR != c.lr || cfg.BatchSize != c.batch || !reflect.DeepEqual(cfg.Optimizer, c.opt) || !reflect.DeepEqual(cfg.Schedule, c.sched) {
				t.Errorf("lr %g, batch %d, %+v, %+v; want lr %g, batch %d, %+v, %+v",
					cfg.LR, cfg.BatchSize, cfg.Optimizer, cfg.Schedule, c.lr, c.batch, c.opt, c.sched)
			}
		})
	}
}

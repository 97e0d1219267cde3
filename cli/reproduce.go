package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"vkcnn/internal/atomicfile"
	"vkcnn/nn"
	"vkcnn/report"
)

// experiment is one row of the seed's table: what train is told and what
// the literature reports.
type experiment struct {
	name         string
	flags        []string // train's augmentation flags
	augmentation string   // in words, for the report
	published    float64  // test error after 20 epochs, a fraction
	source       string
}

var experiments = []experiment{
	{"plain", nil, "none", 0.0083, "Keras 2.0.6, the seed's 20 epochs without augmentation"},
	{"shift", []string{"--shift", "0.1"}, "`--shift 0.1`: up to 2.8 px, nearest pixel, edges repeated (Keras 2.0.6's ImageDataGenerator)",
		0.0054, "Keras 2.0.6, the seed's 20 epochs with width and height shifts of 0.1"},
	{"paper", []string{"--shift-px", "2"}, "`--shift-px 2`: whole pixels, zero fill (the capsule paper's)",
		0.0039, "Sabour, Frosst & Hinton (2017), their baseline CNN"},
}

func experimentNames() []string {
	var names []string
	for _, e := range experiments {
		names = append(names, e.name)
	}
	return names
}

func reproduceCommand() *cli.Command {
	return &cli.Command{
		Name:  "reproduce",
		Usage: "train the seed's experiments over several seeds and report their test error as a table and a figure",
		UsageText: "vkcnn reproduce [--model standard] [--epochs 20] [--seeds 3] [--experiments plain,shift,paper]\n" +
			"   [--out runs/reproduce] [--batch-size N] [--steps-per-epoch N] [--data DIR] [--device D]",
		Description: "Experiments: plain (no augmentation), shift (--shift 0.1, Keras 2.0.6's shifts)\n" +
			"and paper (--shift-px 2, zero fill). Each (experiment, seed) is an ordinary run\n" +
			"folder OUT/EXPERIMENT-seedN, trained with seed N. Run it again to continue:\n" +
			"finished runs are skipped and an interrupted one resumes from its checkpoint\n" +
			"(Ctrl-C stops as in train). After every run it rewrites OUT/REPORT.md (test\n" +
			"error mean ± sd over seeds, best and worst seed, the published figure, speed,\n" +
			"device) and OUT/reproduce.png (test error per epoch, log scale).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Value: "standard", Usage: "standard, small, or a model.json file"},
			&cli.IntFlag{Name: "epochs", Value: 20, Usage: "epochs of every run"},
			&cli.IntFlag{Name: "seeds", Value: 3, Usage: "runs of each experiment, with seeds 1..N"},
			&cli.StringFlag{Name: "experiments", Value: strings.Join(experimentNames(), ","), Usage: "comma-separated: " + strings.Join(experimentNames(), ", ")},
			&cli.StringFlag{Name: "out", Value: filepath.Join("runs", "reproduce"), Usage: "folder of the runs and the report"},
			&cli.IntFlag{Name: "batch-size", Usage: "samples a step", DefaultText: "train's: 64, the small preset 32"},
			&cli.IntFlag{Name: "steps-per-epoch", Aliases: []string{"steps"}, Usage: "cut every epoch to N steps, for a quick trial", DefaultText: "whole epochs"},
			&cli.IntFlag{Name: "log-every", Usage: "a row of each run's steps.csv every N steps", DefaultText: "about 100 rows an epoch"},
			dataFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       reproduce,
	}
}

// reproduceSettings are the flags a reproduction folder keeps from its
// first invocation (OUT/reproduce.json): runs of another model, batch or
// epoch length would not belong in one table. Epochs, seeds and
// experiments may change between invocations.
type reproduceSettings struct {
	Model         string `json:"model"`
	BatchSize     int    `json:"batch_size,omitempty"`
	StepsPerEpoch int    `json:"steps_per_epoch,omitempty"`
	LogEvery      int    `json:"log_every,omitempty"`
}

// text is the settings as reproduce's flags.
func (s reproduceSettings) text() string {
	return strings.Replace(strings.Join(s.args(), " "), "--steps ", "--steps-per-epoch ", 1)
}

// args are the train flags the settings stand for.
func (s reproduceSettings) args() []string {
	args := []string{"--model", s.Model}
	for _, f := range []struct {
		name  string
		value int
	}{{"--batch-size", s.BatchSize}, {"--steps", s.StepsPerEpoch}, {"--log-every", s.LogEvery}} {
		if f.value != 0 {
			args = append(args, f.name, strconv.Itoa(f.value))
		}
	}
	return args
}

const settingsFile = "reproduce.json"

// checkSettings records the settings in a new folder, or checks them
// against the ones it was started with.
func checkSettings(out string, s reproduceSettings) error {
	path := filepath.Join(out, settingsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		js, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		return atomicfile.Write(path, func(w io.Writer) error {
			_, err := w.Write(append(js, '\n'))
			return err
		})
	}
	if err != nil {
		return err
	}
	var old reproduceSettings
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if old != s {
		return fmt.Errorf("%s holds runs made with %s; give the same settings to continue them, or another --out",
			out, old.text())
	}
	return nil
}

// reproduction is one invocation's plan.
type reproduction struct {
	settings    reproduceSettings
	out         string
	epochs      int
	seeds       int
	experiments []experiment
	data        string
	device      string
	global      []string // vkcnn's own flags, passed on to train
}

func parseReproduce(c *cli.Context) (*reproduction, error) {
	if c.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", c.Args().First())
	}
	r := &reproduction{out: c.String("out"), epochs: c.Int("epochs"), seeds: c.Int("seeds"), data: c.String("data"), device: c.String("device"),
		settings: reproduceSettings{Model: c.String("model"), BatchSize: c.Int("batch-size"), StepsPerEpoch: c.Int("steps-per-epoch"), LogEvery: c.Int("log-every")}}
	switch {
	case r.epochs < 1:
		return nil, fmt.Errorf("--epochs %d must be positive", r.epochs)
	case r.seeds < 1:
		return nil, fmt.Errorf("--seeds %d must be positive", r.seeds)
	case r.settings.BatchSize < 0:
		return nil, fmt.Errorf("--batch-size %d must be positive", r.settings.BatchSize)
	case r.settings.StepsPerEpoch < 0:
		return nil, fmt.Errorf("--steps-per-epoch %d must not be negative", r.settings.StepsPerEpoch)
	case r.settings.LogEvery < 0:
		return nil, fmt.Errorf("--log-every %d must not be negative", r.settings.LogEvery)
	}
	if _, err := nn.LoadSpec(r.settings.Model); err != nil {
		return nil, err
	}
	for _, name := range strings.Split(c.String("experiments"), ",") {
		i := slices.IndexFunc(experiments, func(e experiment) bool { return e.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("--experiments: unknown experiment %q (%s)", name, strings.Join(experimentNames(), ", "))
		}
		if slices.ContainsFunc(r.experiments, func(e experiment) bool { return e.name == experiments[i].name }) {
			return nil, fmt.Errorf("--experiments: %s given twice", experiments[i].name)
		}
		r.experiments = append(r.experiments, experiments[i])
	}
	for _, name := range []string{"validate", "validate-sync"} {
		if c.Bool(name) {
			r.global = append(r.global, "--"+name)
		}
	}
	return r, nil
}

func (r *reproduction) dir(e experiment, seed int) string {
	return filepath.Join(r.out, fmt.Sprintf("%s-seed%d", e.name, seed))
}

// command is the command line that makes this reproduction.
func (r *reproduction) command() string {
	var names []string
	for _, e := range r.experiments {
		names = append(names, e.name)
	}
	return fmt.Sprintf("vkcnn reproduce %s --epochs %d --seeds %d --experiments %s --out %s",
		r.settings.text(), r.epochs, r.seeds, strings.Join(names, ","), r.out)
}

// trainArgs are the train command line of one run: a new one, or one that
// continues from its checkpoint.
func (r *reproduction) trainArgs(e experiment, seed int, resume bool) []string {
	args := append([]string{"vkcnn"}, r.global...)
	args = append(args, "train", "--epochs", strconv.Itoa(r.epochs))
	if resume {
		args = append(args, "--resume", r.dir(e, seed))
	} else {
		args = append(args, r.settings.args()...)
		args = append(args, "--seed", strconv.Itoa(seed), "--out", r.dir(e, seed))
		args = append(args, e.flags...)
	}
	if r.data != "" {
		args = append(args, "--data", r.data)
	}
	if r.device != "" {
		args = append(args, "--device", r.device)
	}
	return args
}

// runState is how far a run folder got: its history, and whether it has a
// checkpoint to continue from.
func runState(dir string) (history []report.Epoch, checkpoint bool, err error) {
	h, err := report.ReadHistory(filepath.Join(dir, "history.csv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	_, err = os.Stat(filepath.Join(dir, checkpointFile))
	return h, err == nil, nil
}

func reproduce(c *cli.Context) error {
	r, err := parseReproduce(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", r.out, err)
	}
	if err := checkSettings(r.out, r.settings); err != nil {
		return err
	}
	w := c.App.Writer
	// Shared with each run's train: Ctrl-C stops the run under way, or,
	// between runs, the next one from starting.
	stop := interrupts()
	defer stop.release()
	interrupted := exitError{status: statusInterrupted, err: fmt.Errorf("interrupted; continue with: %s", r.command())}
	total, n := len(r.experiments)*r.seeds, 0
	for _, e := range r.experiments {
		for seed := 1; seed <= r.seeds; seed++ {
			n++
			dir := r.dir(e, seed)
			history, checkpoint, err := runState(dir)
			if err != nil {
				return err
			}
			what := "training"
			switch {
			case len(history) >= r.epochs:
				fmt.Fprintf(w, "[%d/%d] %s seed %d: done, test error %.2f%% after %s, in %s\n",
					n, total, e.name, seed, 100*(1-history[r.epochs-1].ValAcc), report.Plural(r.epochs, "epoch"), dir)
				continue
			case checkpoint && len(history) == 0:
				what = "resuming its first epoch from the checkpoint"
			case checkpoint:
				what = fmt.Sprintf("resuming after epoch %d of %d", len(history), r.epochs)
			}
			fmt.Fprintf(w, "[%d/%d] %s seed %d: %s, in %s\n", n, total, e.name, seed, what, dir)
			err = newApp(w, c.App.ErrWriter).Run(r.trainArgs(e, seed, checkpoint))
			if err == nil {
				err = r.writeReport(c.App.ErrWriter)
			} else {
				err = errors.Join(fmt.Errorf("%s seed %d: %w", e.name, seed, err), r.writeReport(c.App.ErrWriter))
			}
			var exit exitError
			if errors.As(err, &exit) && exit.status == 130 {
				return interrupted
			}
			if err != nil {
				return err
			}
			if stop.requested() {
				return interrupted
			}
		}
	}
	if err := r.writeReport(c.App.ErrWriter); err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote %s and %s\n", filepath.Join(r.out, "REPORT.md"), filepath.Join(r.out, "reproduce.png"))
	return nil
}

// writeReport writes REPORT.md and, once a run has finished, the figure,
// from what the run folders hold now.
func (r *reproduction) writeReport(warn io.Writer) error {
	var exps []report.Experiment
	var devices []string
	var record *runRecord
	finished := 0
	for _, e := range r.experiments {
		exp := report.Experiment{Name: e.name, Augmentation: e.augmentation, Published: e.published, Source: e.source}
		for seed := 1; seed <= r.seeds; seed++ {
			dir := r.dir(e, seed)
			run := report.SeedRun{Seed: uint64(seed), Dir: filepath.Base(dir)}
			if rec, err := readRunRecord(dir); err == nil {
				if device := rec.Device + ", driver " + rec.Driver; !slices.Contains(devices, device) {
					devices = append(devices, device)
				}
				if record == nil {
					record = &rec
				}
			}
			if h, err := report.ReadHistory(filepath.Join(dir, "history.csv")); err == nil {
				run.Epochs = h[:min(len(h), r.epochs)]
				run.Done = len(h) >= r.epochs
			} else if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(warn, "vkcnn: warning: %v\n", err)
			}
			if steps, err := report.ReadSteps(filepath.Join(dir, stepsFile)); err == nil {
				for _, s := range steps {
					if s.Epoch <= float64(r.epochs) {
						run.Steps = append(run.Steps, s)
					}
				}
			}
			if run.Done {
				finished++
			}
			exp.Runs = append(exp.Runs, run)
		}
		exps = append(exps, exp)
	}
	model := r.settings.Model
	settings := fmt.Sprintf("model %s, %s", model, report.Plural(r.epochs, "epoch"))
	if record != nil {
		cfg := record.Config
		settings += fmt.Sprintf(" at batch %d, Adam with learning rate %g, %d seeds an experiment", cfg.BatchSize, cfg.LR, r.seeds)
		if cfg.StepsPerEpoch > 0 {
			settings += fmt.Sprintf("; every epoch cut to %s (--steps-per-epoch), so not the published experiment", report.Plural(cfg.StepsPerEpoch, "step"))
		}
	}
	figure := ""
	if finished > 0 {
		figure = "reproduce.png"
		title := fmt.Sprintf("test error of model %s over %s", model, report.Plural(r.epochs, "epoch"))
		if err := report.ErrorPlot(filepath.Join(r.out, figure), title, exps); err != nil {
			return err
		}
	}
	return report.WriteReproduction(filepath.Join(r.out, "REPORT.md"), report.Reproduction{
		Title: "Reproduction: the seed's experiments on MNIST", Command: r.command(), Settings: settings,
		Experiments: exps, Devices: devices, Figure: figure,
	})
}

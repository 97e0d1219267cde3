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

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/keras"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
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
			"   [--run EXPERIMENT:SEED,...] [--devices D,D,...] [--out runs/reproduce] [--batch-size N]\n" +
			"   [--steps-per-epoch N] [--data DIR|FILE.npz [--image-size HxW] [--color grayscale|rgb] [--val-split F]] [--device D]\n" +
			"vkcnn reproduce --next --budget S [--records DIR] [--precision P] [the same flags]\n" +
			"vkcnn reproduce --report-only [--epochs 20] [--seeds 3] [--experiments plain,shift,paper] [--out runs/reproduce]",
		Description: "Experiments: plain (no augmentation), shift (--shift 0.1, Keras 2.0.6's shifts)\n" +
			"and paper (--shift-px 2, zero fill). Each (experiment, seed) is an ordinary run\n" +
			"folder OUT/EXPERIMENT-seedN, trained with seed N; seed 1 of every experiment\n" +
			"first, then seed 2, and so on. Run it again to continue: finished runs are\n" +
			"skipped and an interrupted one resumes from its checkpoint (Ctrl-C stops as in\n" +
			"train). After every run it rewrites OUT/REPORT.md (test error mean ± sd over\n" +
			"seeds, best and worst seed, the published figure, speed, device) and\n" +
			"OUT/reproduce.png (test error per epoch, log scale).\n\n" +
			"--run trains the named runs alone (shift:2 is seed 2 of shift), writing only\n" +
			"their folders, so that jobs of a cluster can share OUT; --devices trains the\n" +
			"missing runs at once, one on each device listed, and writes the report when\n" +
			"they have ended; --report-only rebuilds the report from whatever runs OUT\n" +
			"holds, training nothing.\n\n" +
			"--next trains the one run missing next from --records (default: OUT), in the\n" +
			"order shift, plain, paper of seed 1, then of seed 2 and 3, if it fits in --budget\n" +
			"seconds: the epoch it needs is the last one recorded there on this device at\n" +
			"this precision, else timed by a probe of a few steps, after tuning the kernels\n" +
			"where the tuning cache has none. The run trains in OUT; once finished, its\n" +
			"small files (run.json, history.csv, steps.csv, kernels.json) go to --records\n" +
			"with the report. At the budget's end the run stops with a checkpoint.",
		Flags: slices.Concat([]cli.Flag{
			&cli.StringFlag{Name: "model", Value: vkcnn.DefaultModel, Usage: "standard, small, or a model.json file"},
			&cli.IntFlag{Name: "epochs", Value: vkcnn.DefaultEpochs, Usage: "epochs of every run"},
			&cli.IntFlag{Name: "seeds", Value: 3, Usage: "runs of each experiment, with seeds 1..N"},
			&cli.StringFlag{Name: "experiments", Value: strings.Join(experimentNames(), ","), Usage: "comma-separated: " + strings.Join(experimentNames(), ", ")},
			&cli.StringFlag{Name: "run", Usage: "train only these runs, comma-separated `EXPERIMENT:SEED` (shift:2), and write no report"},
			&cli.StringFlag{Name: "devices", Usage: "train runs at once, one on each of these comma-separated `DEVICES` (indices or names; one named twice trains two)"},
			&cli.BoolFlag{Name: "keep-going", Usage: "when a run fails (a lost device, say), say so and train the next one; by default reproduce stops"},
			&cli.BoolFlag{Name: "report-only", Usage: "rebuild REPORT.md and reproduce.png from the runs in --out, training nothing"},
			&cli.BoolFlag{Name: "next", Usage: "train the next run missing from --records if it fits in --budget (see above)"},
			&cli.IntFlag{Name: "budget", Usage: "with --next: the `SECONDS` it may take, tuning and probing included"},
			&cli.StringFlag{Name: "records", Usage: "with --next: the folder finished runs are filed in, small files only (docs/reproduce)", DefaultText: "--out"},
			&cli.StringFlag{Name: "out", Value: filepath.Join("runs", "reproduce"), Usage: "folder of the runs and the report"},
			&cli.IntFlag{Name: "batch-size", Usage: "samples a step", DefaultText: "train's: 64, the small preset 32"},
			&cli.IntFlag{Name: "steps-per-epoch", Aliases: []string{"steps"}, Usage: "cut every epoch to N steps, for a quick trial", DefaultText: "whole epochs"},
			&cli.IntFlag{Name: "log-every", Usage: "a row of each run's steps.csv every N steps", DefaultText: "about 100 rows an epoch"},
			&cli.StringFlag{Name: "precision", Value: "fp32", Usage: "train's --precision (" + strings.Join(kernels.PrecisionNames(), ", ") + "): runs at another than fp32 are folders EXPERIMENT-PRECISION-seedN and rows of their own in the report"},
			dataFlag,
			&cli.Float64Flag{Name: "val-split", Usage: "train's --val-split: validate, and report the error, on this last fraction of the training set (a single tree of class folders needs it)"},
			deviceFlag,
		}, imageFlags()),
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
	// How train reads an image folder (--image-size, --color), and the
	// part of the training set it validates on (--val-split, which a
	// single tree of class folders needs).
	ImageSize string  `json:"image_size,omitempty"`
	Color     string  `json:"color,omitempty"`
	ValSplit  float64 `json:"val_split,omitempty"`
	// Precisions are those the folder holds runs of, comma-separated
	// (none written: fp32 alone): each is rows of its own in the report,
	// so they need not agree.
	Precisions string `json:"precisions,omitempty"`
}

// precisions are the precisions the folder holds runs of, in
// kernels.Precisions' order.
func (s reproduceSettings) precisions() []kernels.Precision {
	if s.Precisions == "" {
		return []kernels.Precision{kernels.FP32}
	}
	var out []kernels.Precision
	for _, p := range kernels.Precisions {
		if slices.Contains(strings.Split(s.Precisions, ","), p.String()) {
			out = append(out, p)
		}
	}
	return out
}

// text is the settings as reproduce's flags.
func (s reproduceSettings) text() string { return strings.Join(s.args(), " ") }

// args are the train flags the settings stand for, which reproduce takes
// too.
func (s reproduceSettings) args() []string {
	args := []string{"--model", s.Model}
	for _, f := range []struct {
		name  string
		value int
	}{{"--batch-size", s.BatchSize}, {"--steps-per-epoch", s.StepsPerEpoch}, {"--log-every", s.LogEvery}} {
		if f.value != 0 {
			args = append(args, f.name, strconv.Itoa(f.value))
		}
	}
	return append(args, s.dataArgs()...)
}

// dataArgs are the train flags that say how to read --data.
func (s reproduceSettings) dataArgs() []string {
	var args []string
	for _, f := range []struct{ name, value string }{{"--image-size", s.ImageSize}, {"--color", s.Color}} {
		if f.value != "" {
			args = append(args, f.name, f.value)
		}
	}
	if s.ValSplit != 0 {
		args = append(args, "--val-split", strconv.FormatFloat(s.ValSplit, 'g', -1, 64))
	}
	return args
}

// checkSettings records the settings and precision in a new folder, or
// checks them against the ones it was started with and adds the
// precision; it returns the folder's settings.
func checkSettings(out string, s reproduceSettings, prec kernels.Precision) (reproduceSettings, error) {
	old, err := readSettings(out)
	fresh := errors.Is(err, fs.ErrNotExist)
	if err != nil && !fresh {
		return old, err
	}
	if !fresh {
		if old.Precisions == "" {
			old.Precisions = kernels.FP32.String() // a folder from before precisions
		}
		s.Precisions = old.Precisions
		if old != s {
			return old, fmt.Errorf("%s holds runs made with %s; give the same settings to continue them, or another --out",
				out, old.text())
		}
		if slices.Contains(s.precisions(), prec) {
			return s, nil
		}
		s.Precisions += ","
	}
	s.Precisions += prec.String()
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	return s, atomicfile.Write(filepath.Join(out, runfolder.SettingsFile), func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	})
}

// readSettings reads the settings a folder's runs were made with.
func readSettings(out string) (reproduceSettings, error) {
	var s reproduceSettings
	err := runfolder.ReadJSON(filepath.Join(out, runfolder.SettingsFile), &s)
	return s, err
}

// reproduction is one invocation's plan.
type reproduction struct {
	settings    reproduceSettings
	out         string
	epochs      int
	seeds       int
	experiments []experiment
	// runs are the runs to train, in order: --run's, else seed 1 of every
	// experiment, then seed 2, ...; alone says they are --run's, which
	// write no report.
	runs    []seedRun
	alone   bool
	devices []string // --devices
	// precision is the runs' (--precision).
	precision kernels.Precision
	data      string
	device    string
	global    []string // vkcnn's own flags, passed on to train
	// keepGoing: a run that fails is reported and the next one trained.
	keepGoing bool
}

// seedRun is one (experiment, seed) of a reproduction.
type seedRun struct {
	e    experiment
	seed int
}

func (s seedRun) String() string { return fmt.Sprintf("%s seed %d", s.e.name, s.seed) }

func experimentByName(name string) (experiment, error) {
	i := slices.IndexFunc(experiments, func(e experiment) bool { return e.name == strings.TrimSpace(name) })
	if i < 0 {
		return experiment{}, fmt.Errorf("unknown experiment %q (%s)", name, strings.Join(experimentNames(), ", "))
	}
	return experiments[i], nil
}

// parseRuns reads --run: EXPERIMENT:SEED, comma-separated.
func parseRuns(list string) ([]seedRun, error) {
	var runs []seedRun
	for _, item := range strings.Split(list, ",") {
		name, seedText, ok := strings.Cut(strings.TrimSpace(item), ":")
		seed, err := strconv.Atoi(seedText)
		if !ok || err != nil || seed < 1 {
			return nil, fmt.Errorf("--run: %q is not EXPERIMENT:SEED, such as shift:2", item)
		}
		e, err := experimentByName(name)
		if err != nil {
			return nil, fmt.Errorf("--run: %w", err)
		}
		run := seedRun{e, seed}
		if slices.ContainsFunc(runs, func(r seedRun) bool { return r.e.name == e.name && r.seed == seed }) {
			return nil, fmt.Errorf("--run: %s given twice", item)
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// reportOnlyFlags are the flags --report-only takes.
var reportOnlyFlags = []string{"report-only", "epochs", "seeds", "experiments", "out"}

func parseReproduce(c *cli.Context) (*reproduction, error) {
	if c.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see --help)", c.Args().First())
	}
	r := &reproduction{out: c.String("out"), epochs: c.Int("epochs"), seeds: c.Int("seeds"), data: c.String("data"), device: c.String("device"),
		settings: reproduceSettings{Model: c.String("model"), BatchSize: c.Int("batch-size"), StepsPerEpoch: c.Int("steps-per-epoch"), LogEvery: c.Int("log-every"),
			ImageSize: c.String("image-size"), Color: c.String("color"), ValSplit: c.Float64("val-split")}}
	if _, err := imageOptions(c); err != nil {
		return nil, err
	}
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
	case r.settings.ValSplit < 0 || r.settings.ValSplit >= 1:
		return nil, fmt.Errorf("--val-split %g outside [0, 1)", r.settings.ValSplit)
	case c.IsSet("devices") && c.IsSet("device"):
		return nil, errors.New("--devices and --device: give one")
	case c.Bool("next") && (c.IsSet("run") || c.IsSet("devices") || c.Bool("report-only")):
		return nil, errors.New("--next chooses the run itself: drop --run, --devices and --report-only")
	case !c.Bool("next") && (c.IsSet("budget") || c.IsSet("records")):
		return nil, errors.New("--budget and --records go with --next")
	}
	if c.Bool("report-only") {
		for _, name := range c.FlagNames() {
			if !slices.Contains(reportOnlyFlags, name) {
				return nil, fmt.Errorf("--report-only takes --%s, not --%s", strings.Join(reportOnlyFlags[1:], ", --"), name)
			}
		}
	} else if _, err := keras.Load(r.settings.Model, keras.Options{}); err != nil {
		return nil, err
	}
	for _, name := range strings.Split(c.String("experiments"), ",") {
		e, err := experimentByName(name)
		if err != nil {
			return nil, fmt.Errorf("--experiments: %w", err)
		}
		if slices.ContainsFunc(r.experiments, func(x experiment) bool { return x.name == e.name }) {
			return nil, fmt.Errorf("--experiments: %s given twice", e.name)
		}
		r.experiments = append(r.experiments, e)
	}
	if c.IsSet("run") {
		runs, err := parseRuns(c.String("run"))
		if err != nil {
			return nil, err
		}
		r.runs, r.alone = runs, true
	} else {
		for seed := 1; seed <= r.seeds; seed++ {
			for _, e := range r.experiments {
				r.runs = append(r.runs, seedRun{e, seed})
			}
		}
	}
	if c.IsSet("devices") {
		for _, d := range strings.Split(c.String("devices"), ",") {
			if d = strings.TrimSpace(d); d == "" {
				return nil, fmt.Errorf("--devices %q: an empty device", c.String("devices"))
			}
			r.devices = append(r.devices, d)
		}
	}
	prec, err := flagPrecision(c)
	if err != nil {
		return nil, err
	}
	r.precision = prec
	for _, name := range []string{"validate", "validate-sync"} {
		if c.Bool(name) {
			r.global = append(r.global, "--"+name)
		}
	}
	if c.IsSet("watchdog") {
		r.global = append(r.global, "--watchdog", c.Duration("watchdog").String())
	}
	r.keepGoing = c.Bool("keep-going")
	return r, nil
}

// dir is a run's folder: EXPERIMENT-seedN, EXPERIMENT-PRECISION-seedN
// beside fp32's.
func (r *reproduction) dir(run seedRun) string {
	return filepath.Join(r.out, runfolder.SeedRunName(run.e.name, r.precision, run.seed))
}

// command is the command line that makes this reproduction.
func (r *reproduction) command() string {
	var names []string
	for _, e := range r.experiments {
		names = append(names, e.name)
	}
	cmd := fmt.Sprintf("vkcnn reproduce %s --epochs %d --seeds %d --experiments %s --out %s",
		r.settings.text(), r.epochs, r.seeds, strings.Join(names, ","), r.out)
	if r.precision != kernels.FP32 {
		cmd += " --precision " + r.precision.String()
	}
	return cmd
}

// trainArgs are the train command line of one run on a device ("": the
// default): a new one, or one that continues from its checkpoint.
func (r *reproduction) trainArgs(run seedRun, resume bool, device string) []string {
	args := append([]string{"vkcnn"}, r.global...)
	args = append(args, "train", "--epochs", strconv.Itoa(r.epochs))
	if resume {
		args = append(args, "--resume", r.dir(run))
	} else {
		args = append(args, r.settings.args()...)
		args = append(args, "--seed", strconv.Itoa(run.seed), "--out", r.dir(run))
		args = append(args, run.e.flags...)
		if r.precision != kernels.FP32 {
			args = append(args, "--precision", r.precision.String())
		}
	}
	if r.data != "" {
		args = append(args, "--data", r.data)
	}
	if device != "" {
		args = append(args, "--device", device)
	}
	return args
}

// pendingRun is a run still to train: its place in the plan, whether it
// resumes from a checkpoint, and how far it got, in words.
type pendingRun struct {
	seedRun
	n      int
	resume bool
	what   string
}

// start says that a run starts, on a device where one is named.
func (p pendingRun) start(w io.Writer, of int, dir, device string) {
	on := ""
	if device != "" {
		on = " on device " + device
	}
	fmt.Fprintf(w, "[%d/%d] %s: %s%s, in %s\n", p.n, of, p.seedRun, p.what, on, dir)
}

// pending says how far each run of the plan got, and returns those still
// to train.
func (r *reproduction) pending(w io.Writer) ([]pendingRun, error) {
	var out []pendingRun
	for i, run := range r.runs {
		history, checkpoint, err := runfolder.State(r.dir(run))
		if err != nil {
			return nil, err
		}
		what := "training"
		switch {
		case len(history) >= r.epochs:
			fmt.Fprintf(w, "[%d/%d] %s: done, test error %.2f%% after %s, in %s\n",
				i+1, len(r.runs), run, 100*(1-history[r.epochs-1].ValAcc), report.Plural(r.epochs, "epoch"), r.dir(run))
			continue
		case checkpoint && len(history) == 0:
			what = "resuming its first epoch from the checkpoint"
		case checkpoint:
			what = fmt.Sprintf("resuming after epoch %d of %d", len(history), r.epochs)
		}
		out = append(out, pendingRun{run, i + 1, checkpoint, what})
	}
	return out, nil
}

func reproduce(c *cli.Context) error {
	r, err := parseReproduce(c)
	if err != nil {
		return err
	}
	if c.Bool("report-only") {
		if r.settings, err = readSettings(r.out); err != nil {
			return fmt.Errorf("%s holds no reproduction: %w", r.out, err)
		}
		return r.report(c)
	}
	if c.Bool("next") {
		return r.reproduceNext(c)
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", r.out, err)
	}
	if r.settings, err = checkSettings(r.out, r.settings, r.precision); err != nil {
		return err
	}
	// Shared with each run's train: Ctrl-C stops the run under way, or,
	// between runs, the next one from starting.
	stop := interrupts()
	defer stop.release()
	todo, err := r.pending(c.App.Writer)
	if err != nil {
		return err
	}
	if len(r.devices) > 0 {
		err = r.trainOnDevices(c, todo, stop)
	} else {
		err = r.train(c, todo, stop)
	}
	if r.alone {
		return err
	}
	return errors.Join(err, r.report(c))
}

// interrupted is the error of a reproduction stopped by Ctrl-C.
func (r *reproduction) interrupted() error {
	return exitError{status: statusInterrupted, err: fmt.Errorf("interrupted; continue with: %s", r.command())}
}

// train trains the runs one after the other in this process, rewriting
// the report after each unless they are --run's. A run that fails stops
// them, or with --keep-going is reported and passed over; the error then
// names every run that failed.
func (r *reproduction) train(c *cli.Context, todo []pendingRun, stop *stopper) error {
	w := c.App.Writer
	var failed []error
	for _, run := range todo {
		run.start(w, len(r.runs), r.dir(run.seedRun), r.device)
		err := newApp(w, c.App.ErrWriter).Run(r.trainArgs(run.seedRun, run.resume, r.device))
		if err != nil {
			err = fmt.Errorf("%s: %w", run, err)
		}
		if !r.alone {
			err = errors.Join(err, r.writeReport(c.App.ErrWriter))
		}
		var exit exitError
		if errors.As(err, &exit) && exit.status == statusInterrupted {
			return r.interrupted()
		}
		if err != nil && !r.keepGoing {
			return err
		}
		if err != nil {
			fmt.Fprintf(c.App.ErrWriter, "vkcnn: %s; going on with the next run (--keep-going)\n", oneLine(err))
			failed = append(failed, err)
		}
		if stop.requested() {
			return r.interrupted()
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d runs failed: %w", len(failed), len(todo), errors.Join(failed...))
	}
	return nil
}

// report writes the report and says where.
func (r *reproduction) report(c *cli.Context) error {
	if err := r.writeReport(c.App.ErrWriter); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Wrote %s and %s\n", filepath.Join(r.out, runfolder.ReportFile), filepath.Join(r.out, runfolder.ReportFigure))
	return nil
}

// writeReport writes REPORT.md and, once a run has finished, the figure,
// from what the run folders hold now.
func (r *reproduction) writeReport(warn io.Writer) error {
	var exps []report.Experiment
	var devices []string
	var record *runfolder.Record
	finished := 0
	// Each precision's runs are rows of their own, after fp32's.
	var rows []reproduction
	for _, prec := range r.settings.precisions() {
		for _, e := range r.experiments {
			row := *r
			row.precision, row.experiments = prec, []experiment{e}
			rows = append(rows, row)
		}
	}
	for _, at := range rows {
		e := at.experiments[0]
		exp := report.Experiment{Name: e.name, Augmentation: e.augmentation, Published: e.published, Source: e.source}
		if at.precision != kernels.FP32 {
			exp.Precision = at.precision.String()
		}
		for seed := 1; seed <= r.seeds; seed++ {
			dir := at.dir(seedRun{e, seed})
			run := report.SeedRun{Seed: uint64(seed), Dir: filepath.Base(dir)}
			if rec, err := runfolder.ReadRecord(dir); err == nil {
				if device := rec.Device + ", driver " + rec.Driver; !slices.Contains(devices, device) {
					devices = append(devices, device)
				}
				if record == nil {
					record = &rec
				}
			}
			if h, err := runfolder.ReadHistory(dir); err == nil {
				run.Epochs = h[:min(len(h), r.epochs)]
				run.Done = len(h) >= r.epochs
			} else if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(warn, "vkcnn: warning: %v\n", err)
			}
			if steps, err := runfolder.ReadSteps(dir); err == nil {
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
		figure = runfolder.ReportFigure
		title := fmt.Sprintf("test error of model %s over %s", model, report.Plural(r.epochs, "epoch"))
		if err := report.ErrorPlot(filepath.Join(r.out, figure), title, exps); err != nil {
			return err
		}
	}
	// The command of the fp32 rows; those of another precision add its flag.
	fp32 := *r
	fp32.precision = kernels.FP32
	for _, prec := range r.settings.precisions() {
		if prec != kernels.FP32 {
			settings += fmt.Sprintf("; the rows at %s add --precision %s", prec, prec)
		}
	}
	return report.WriteReproduction(filepath.Join(r.out, runfolder.ReportFile), report.Reproduction{
		Title: "Reproduction: the seed's experiments on MNIST", Command: fp32.command(), Settings: settings,
		Experiments: exps, Devices: devices, Figure: figure,
	})
}

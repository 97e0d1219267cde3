package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

// nextOrder is the order --next trains an experiment's seed in: shift
// first, the one run the table cannot do without (its published figure is
// the seed's own), then plain and the paper's; seed 1 of each, then seed
// 2 and so on. reproduce's own order is the table's (experiments).
var nextOrder = []string{"shift", "plain", "paper"}

// nextMargin is the time a run needs beyond its epochs: starting, the
// report and filing.
const nextMargin = 30 * time.Second

// nextPlan is one invocation of --next: the reproduction that trains in
// out, the folder its finished runs are filed in (records: out itself, or
// --records), and when the budget ends.
type nextPlan struct {
	*reproduction
	records  string
	deadline time.Time
}

// missing is the first run in nextOrder whose records lack a finished
// history.
func (p *nextPlan) missing() (seedRun, bool, error) {
	filed := *p.reproduction
	filed.out = p.records
	for seed := 1; seed <= p.seeds; seed++ {
		for _, name := range nextOrder {
			i := slices.IndexFunc(p.experiments, func(e experiment) bool { return e.name == name })
			if i < 0 {
				continue
			}
			run := seedRun{p.experiments[i], seed}
			h, _, err := runfolder.State(filed.dir(run))
			if err != nil {
				return run, false, err
			}
			if len(h) < p.epochs {
				return run, true, nil
			}
		}
	}
	return seedRun{}, false, nil
}

// reproduceNext trains the next run missing from the records if it fits
// in what is left of the budget (tuning the kernels first where the cache
// has none for the device at the precision), then files its small files
// and the report in the records.
func (r *reproduction) reproduceNext(c *cli.Context) error {
	budget := c.Int("budget")
	if budget <= 0 {
		return fmt.Errorf("--next needs --budget SECONDS, a positive number")
	}
	p := &nextPlan{reproduction: r, records: r.out, deadline: time.Now().Add(time.Duration(budget) * time.Second)}
	if c.IsSet("records") {
		p.records = c.String("records")
	}
	w := c.App.Writer
	run, ok, err := p.missing()
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintf(w, "every run of the table is in %s\n", p.records)
		return nil
	}
	if p.records != r.out {
		if err := sameSettings(p.records, r.settings); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", r.out, err)
	}
	if r.settings, err = checkSettings(r.out, r.settings, r.precision); err != nil {
		return err
	}
	info, err := r.deviceInfo(c)
	if err != nil {
		return err
	}
	if err := r.tuneOnce(c, info); err != nil {
		return err
	}
	epoch, err := p.epochSeconds(c, info, run)
	if err != nil {
		return err
	}
	h, _, err := runfolder.State(r.dir(run))
	if err != nil {
		return err
	}
	left := r.epochs - min(len(h), r.epochs)
	need := time.Duration(float64(left)*epoch*float64(time.Second)) + nextMargin
	have := time.Until(p.deadline)
	if need > have {
		fmt.Fprintf(w, "the next run, %s, needs about %.0fs (%d x %.0fs an epoch): more than the %.0fs left of the budget; not started\n",
			run, need.Seconds(), left, epoch, have.Seconds())
		return nil
	}
	fmt.Fprintf(w, "the next run, %s, needs about %.0fs; %.0fs are left\n", run, need.Seconds(), have.Seconds())
	r.runs, r.alone = []seedRun{run}, true
	todo, err := r.pending(w)
	if err != nil {
		return err
	}
	stop := interrupts()
	defer stop.release()
	budgetEnd := time.AfterFunc(have, func() {
		fmt.Fprintf(c.App.ErrWriter, "vkcnn: the budget of %ds ends: stopping after this step\n", budget)
		stop.request()
	})
	trained := r.train(c, todo, stop)
	var exit exitError
	if !budgetEnd.Stop() && errors.As(trained, &exit) && exit.status == statusInterrupted {
		trained = exitError{status: statusInterrupted,
			err: fmt.Errorf("the budget of %ds ended during %s: its checkpoint is in %s, where --next continues it", budget, run, r.dir(run))}
	}
	h, _, err = runfolder.State(r.dir(run))
	if err != nil {
		return errors.Join(trained, err)
	}
	for _, e := range h {
		fmt.Fprintf(w, "epoch %d: test error %.2f%% (%.0f s)\n", e.Epoch, 100*(1-e.ValAcc), e.Seconds)
	}
	if len(h) < r.epochs {
		fmt.Fprintf(w, "%s did not finish: nothing filed in %s\n", run, p.records)
		return trained
	}
	return errors.Join(trained, p.file(c, run))
}

// file copies a finished run's small files into the records (unless they
// are the run's own folder) and rewrites their report.
func (p *nextPlan) file(c *cli.Context, run seedRun) error {
	filed := *p.reproduction
	filed.out, filed.alone = p.records, false
	if p.records != p.out {
		if err := runfolder.CopySmallFiles(p.dir(run), filed.dir(run)); err != nil {
			return fmt.Errorf("filing %s in %s: %w", run, p.records, err)
		}
		s := p.settings
		s.Precisions = "" // the records' own, which checkSettings keeps
		var err error
		if filed.settings, err = checkSettings(p.records, s, p.precision); err != nil {
			return err
		}
	}
	if err := filed.writeReport(c.App.ErrWriter); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "filed %s in %s, and its report %s\n", run, filed.dir(run), filepath.Join(p.records, runfolder.ReportFile))
	return nil
}

// sameSettings fails where a folder holds runs made with other settings
// than s (whatever their precisions).
func sameSettings(dir string, s reproduceSettings) error {
	old, err := readSettings(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	old.Precisions, s.Precisions = "", ""
	if old != s {
		return fmt.Errorf("%s holds runs made with %s; give the same settings to continue them", dir, old.text())
	}
	return nil
}

// deviceInfo is the description of the device the runs train on.
func (r *reproduction) deviceInfo(c *cli.Context) (vk.DeviceInfo, error) {
	ctx, err := openDevice(c)
	if err != nil {
		return vk.DeviceInfo{}, err
	}
	info := ctx.Info
	ctx.Close()
	return info, nil
}

// tuneOnce tunes the model's kernels at the run's precision where the
// cache holds none for the device: untuned kernels would take the
// standard model's step from about 21 to 37 ms on an H100.
func (r *reproduction) tuneOnce(c *cli.Context, info vk.DeviceInfo) error {
	path, err := kernels.TuningPath()
	if err != nil {
		return err
	}
	if cached, err := kernels.CachedChoices(path, info, r.precision); err == nil && len(cached) > 0 {
		return nil
	}
	args := append([]string{"vkcnn"}, r.global...)
	args = append(args, "tune", "--model", r.settings.Model, "--reps", "3", "--precision", r.precision.String())
	if r.settings.BatchSize > 0 {
		args = append(args, "--batch-size", strconv.Itoa(r.settings.BatchSize))
	}
	if r.device != "" {
		args = append(args, "--device", r.device)
	}
	fmt.Fprintf(c.App.Writer, "tuning the kernels first: %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	if err := newApp(&out, c.App.ErrWriter).Run(args); err != nil {
		c.App.Writer.Write(out.Bytes())
		return fmt.Errorf("tune: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fmt.Fprintln(c.App.Writer, lines[len(lines)-1])
	return nil
}

// epochSeconds is how long an epoch of run takes on the device at the
// precision: the last epoch of the run the records hold of the device at
// the precision whose history was written last, else an estimate from a
// probe of a few steps.
func (p *nextPlan) epochSeconds(c *cli.Context, info vk.DeviceInfo, run seedRun) (float64, error) {
	entries, err := os.ReadDir(p.records)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	var newest time.Time
	seconds, from := 0.0, ""
	for _, e := range entries {
		dir := filepath.Join(p.records, e.Name())
		rec, err := runfolder.ReadRecord(dir)
		if err != nil || rec.Device != info.Name || rec.Config.Precision != p.precision {
			continue
		}
		st, err := os.Stat(filepath.Join(dir, runfolder.HistoryFile))
		if err != nil || !st.ModTime().After(newest) {
			continue
		}
		if h, err := runfolder.ReadHistory(dir); err == nil && len(h) > 0 {
			newest, seconds, from = st.ModTime(), h[len(h)-1].Seconds, dir
		}
	}
	if from != "" {
		fmt.Fprintf(c.App.Writer, "the last epoch recorded on %s at %s took %.0fs (%s)\n", info.Name, p.precision, seconds, from)
		return seconds, nil
	}
	return p.probe(c, info, run)
}

// probe trains a few steps of run in a folder of its own and estimates a
// whole epoch from them: the training images at the rate of the last
// logged steps (past the pipelines' first runs), and the rest of the
// probe's epoch (the test pass) as it took.
func (p *nextPlan) probe(c *cli.Context, info vk.DeviceInfo, run seedRun) (float64, error) {
	steps := 20
	if s := p.settings.StepsPerEpoch; s > 0 {
		steps = min(steps, max(1, s/2))
	}
	fmt.Fprintf(c.App.Writer, "no epoch of %s at %s recorded in %s: timing %d steps\n", info.Name, p.precision, p.records, steps)
	probe := *p.reproduction
	probe.out, probe.epochs = filepath.Join(p.out, ".probe"), 1
	probe.settings.StepsPerEpoch, probe.settings.LogEvery = steps, max(1, steps/2)
	if err := os.RemoveAll(probe.out); err != nil {
		return 0, err
	}
	defer os.RemoveAll(probe.out)
	var out bytes.Buffer
	if err := newApp(&out, c.App.ErrWriter).Run(probe.trainArgs(seedRun{run.e, run.seed}, false, p.device)); err != nil {
		c.App.Writer.Write(out.Bytes())
		return 0, fmt.Errorf("the probe run: %w", err)
	}
	dir := probe.dir(run)
	rec, err := runfolder.ReadRecord(dir)
	if err != nil {
		return 0, err
	}
	h, err := runfolder.ReadHistory(dir)
	if err != nil {
		return 0, err
	}
	logged, err := runfolder.ReadSteps(dir)
	if err != nil {
		return 0, err
	}
	if len(h) == 0 || len(logged) == 0 || rec.Data == nil || logged[len(logged)-1].ImagesPerSecond <= 0 {
		return 0, fmt.Errorf("the probe run in %s left no epoch or rate", dir)
	}
	rate := logged[len(logged)-1].ImagesPerSecond
	whole := rec.Config
	whole.StepsPerEpoch = p.settings.StepsPerEpoch
	samples := rec.Data.Train - int(float64(rec.Data.Train)*rec.Config.ValSplit)
	batch := float64(rec.Config.BatchSize)
	trained := float64(steps) * batch / rate
	epoch := float64(whole.EpochSteps(samples))*batch/rate + max(0, h[0].Seconds-trained)
	fmt.Fprintf(c.App.Writer, "an epoch would take about %.0fs (%.0f images/s)\n", epoch, rate)
	return epoch, nil
}

package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/kernels"
)

// TrainConfig is one training run's settings.
type TrainConfig struct {
	Epochs, BatchSize int
	// StepsPerEpoch, when positive, cuts each epoch short.
	StepsPerEpoch int
	// LR is the base learning rate, which Schedule moves.
	LR        float64
	Optimizer Optimizer
	Schedule  Schedule
	// EarlyStopping, where its Patience is above 0, ends the run once its
	// metric has not improved for that many epochs.
	EarlyStopping EarlyStopping `json:",omitzero"`
	// LabelSmoothing is the training loss's (PyTorch's CrossEntropyLoss's
	// label_smoothing); the validation loss is plain cross-entropy.
	LabelSmoothing float64 `json:",omitempty"`
	Seed           uint64
	Shuffle        bool
	Augment        augment.Config
	// ValSplit holds out the last fraction of the training set for
	// validation (as Keras' validation_split); 0 validates on the set
	// given to Train.
	ValSplit float64
	// KeepBest restores, at the end, the parameters of the epoch with the
	// lowest validation loss.
	KeepBest bool
	// LogEvery is how many steps Hooks.Log sums up in a row (and every
	// epoch's last step ends one); 0 makes about 100 rows an epoch.
	LogEvery int
	// Precision is the arithmetic of the convolutions and dense products,
	// which the run's kernels (a Tuning) carry; it is recorded here so
	// that a resumed run keeps it.
	Precision kernels.Precision
}

// logEvery is the steps a log row covers in an epoch of steps steps.
func (c TrainConfig) logEvery(steps int) int {
	if c.LogEvery > 0 {
		return c.LogEvery
	}
	return max(1, (steps+50)/100)
}

// Check reports the first invalid setting.
func (c TrainConfig) Check() error {
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("epochs %d must be positive", c.Epochs)
	case c.BatchSize <= 0:
		return fmt.Errorf("batch size %d must be positive", c.BatchSize)
	case c.StepsPerEpoch < 0:
		return fmt.Errorf("steps per epoch %d must not be negative", c.StepsPerEpoch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate %g must be a positive number", c.LR)
	case c.ValSplit < 0 || c.ValSplit >= 1 || math.IsNaN(c.ValSplit):
		return fmt.Errorf("validation split %g outside [0, 1)", c.ValSplit)
	case c.LogEvery < 0:
		return fmt.Errorf("log every %d steps: must not be negative", c.LogEvery)
	}
	return errors.Join(c.Optimizer.Check(), c.Schedule.Check(c.LR), c.EarlyStopping.Check(), kernels.CheckLabelSmoothing(c.LabelSmoothing), c.Augment.Check())
}

// EpochSteps is the number of steps of an epoch over n training samples:
// enough batches for all of them, or StepsPerEpoch if that is fewer.
func (c TrainConfig) EpochSteps(n int) int {
	steps := (n + c.BatchSize - 1) / c.BatchSize
	if c.StepsPerEpoch > 0 {
		steps = min(steps, c.StepsPerEpoch)
	}
	return steps
}

// EpochStats is one epoch of history.
type EpochStats struct {
	Epoch            int
	Loss, Acc        float64
	ValLoss, ValAcc  float64
	HasVal           bool
	Seconds          float64
	Images           int
	ImagesPerSecond  float64
	ValidationSecond float64
	// Stopped says why the run ends after this epoch, before its last
	// (early stopping), or is empty.
	Stopped string
}

// Progress is reported after every training step.
type Progress struct {
	Epoch, Epochs, Step, Steps int
	Loss, Acc                  float64
	ImagesPerSecond            float64
	Elapsed                    time.Duration
}

// StepLog is one row of the training log: the steps since the previous
// row (or the epoch's start).
type StepLog struct {
	Step            int     // Adam's iteration count after the row's last step
	Epoch           float64 // epochs done, fractional: 1.5 is halfway through the second
	Images          int     // training images seen since the run began
	Loss, Acc       float64 // mean training loss and accuracy over the row's steps
	LR              float64 // the scheduled rate of the row's last step
	GradNorm        float64 // the largest gradient norm before clipping of the row's steps (0: no clipping)
	ImagesPerSecond float64 // over the row's steps
}

// Hooks let the caller watch and steer training; any may be nil.
type Hooks struct {
	Progress func(Progress)
	// Log receives a row every TrainConfig.LogEvery steps and at each
	// epoch's end, before any checkpoint of that step; an error stops
	// training.
	Log func(StepLog) error
	// Epoch runs after each epoch; an error stops training.
	Epoch func(EpochStats) error
	// Checkpoint receives the state to save: after every epoch, every
	// CheckpointEvery steps, and when Stop asks to stop.
	Checkpoint      func(*TrainState) error
	CheckpointEvery int
	// Stop is asked after every step and at each epoch's end; true ends
	// training with ErrStopped once the checkpoint is written.
	Stop func() bool
}

// ErrStopped means Hooks.Stop ended training early.
var ErrStopped = errors.New("training stopped")

// TrainState is where a run stands between two steps: with the network's
// weights and Adam's moments, enough to continue bit for bit.
type TrainState struct {
	Epoch int // the epoch under way, from 1
	Done  int `json:"Step"` // steps of it done (checkpoints keep the older name)
	// Counter is Adam's iteration count, also the dropout step.
	Counter uint32
	// ShuffleState is the shuffling generator as it was when this epoch
	// began (before its permutation was drawn); AugmentState is the
	// augmentation generator now.
	ShuffleState, AugmentState []byte
	// Totals are the epoch's loss and accuracy counters so far.
	Totals kernels.Totals
	// LogTotals and LogSeconds are Totals and the epoch's seconds at the
	// last Hooks.Log row of this epoch.
	LogTotals  kernels.Totals
	LogSeconds float64
	// LogGradNorm is the largest gradient norm since that row, where the
	// optimizer clips.
	LogGradNorm  float64 `json:",omitempty"`
	EpochSeconds float64
	Images       int
	History      []EpochStats
	// With TrainConfig.KeepBest: the best validation loss so far and its
	// parameters (nil before the first epoch ends).
	BestLoss float64
	Best     []float32
	// The plateau schedule's rate (0 before it starts) and where its
	// metric stands.
	PlateauLR float64 `json:",omitempty"`
	Plateau   Plateau `json:",omitzero"`
	// Where early stopping's metric stands, and why the run stopped
	// (empty while it goes on).
	Stopping Plateau `json:",omitzero"`
	Stopped  string  `json:",omitempty"`
}

// Train trains net on train for cfg.Epochs epochs, validating after each
// on val (or on the held-out part of train with cfg.ValSplit). A non-nil
// resume continues a run from its state (the network must hold the
// weights and Adam moments saved with it). It returns the history.
func Train(net *Net, train, val *DeviceSet, cfg TrainConfig, hooks *Hooks, resume *TrainState) ([]EpochStats, error) {
	t, err := newTrainer(net, train, val, cfg, hooks, resume)
	if err != nil {
		return nil, err
	}
	for t.st.Epoch <= cfg.Epochs && t.st.Stopped == "" {
		if err := t.epoch(); err != nil {
			return t.st.History, err
		}
		// A stop asked at the epoch's end (by the Epoch hook, say) ends
		// the run there, its checkpoint written.
		t.stop = t.stop || (t.hooks.Stop != nil && t.hooks.Stop())
		if t.stop && t.st.Epoch <= cfg.Epochs && t.st.Stopped == "" {
			return t.st.History, ErrStopped
		}
	}
	if cfg.KeepBest && t.st.Best != nil {
		if err := net.SetParams(t.st.Best); err != nil {
			return t.st.History, err
		}
	}
	return t.st.History, nil
}

// trainer is a run of Train under way.
type trainer struct {
	net   *Net
	cfg   TrainConfig
	hooks *Hooks
	train *DeviceSet
	// val holds the validation samples valIdx (nil: no validation).
	val              *DeviceSet
	trainIdx, valIdx []int
	gen              *augment.Generator
	shuffleSrc       *rand.PCG
	shuffle          *rand.Rand
	warp             augment.Sampling
	seed             uint32 // dropout's
	st               *TrainState
	rates            *rates
	rate             float64 // the scheduled rate of the last step
	seen             int     // images trained in the epochs before this one
	stop             bool    // asked by Hooks.Stop; honoured at the next checkpoint
	// stepTimes are the last steps' times, for the watchdog, after the
	// first one.
	stepTimes     []time.Duration
	firstStepDone bool
}

func newTrainer(net *Net, train, val *DeviceSet, cfg TrainConfig, hooks *Hooks, resume *TrainState) (*trainer, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.BatchSize != net.Batch {
		return nil, fmt.Errorf("batch size %d, the network was built for %d", cfg.BatchSize, net.Batch)
	}
	if hooks == nil {
		hooks = &Hooks{}
	}
	gen, err := augment.NewGenerator(cfg.Augment, net.Model.Input().Geometry(), cfg.Seed)
	if err != nil {
		return nil, err
	}
	t := &trainer{net: net, cfg: cfg, hooks: hooks, train: train, gen: gen, warp: cfg.Augment.Sampling(),
		seed: uint32(cfg.Seed) ^ uint32(cfg.Seed>>32), st: &TrainState{Epoch: 1, BestLoss: math.Inf(1)}}
	t.shuffleSrc = rand.NewPCG(cfg.Seed, 0x73687566) // second word: a fixed stream for shuffling
	t.shuffle = rand.New(t.shuffleSrc)
	if t.trainIdx, t.val, t.valIdx, err = splitValidation(train, val, cfg.ValSplit); err != nil {
		return nil, err
	}
	if cfg.KeepBest && t.val == nil {
		return nil, errors.New("keeping the best epoch needs validation data")
	}
	if cfg.Schedule.Name == SchedPlateau && t.val == nil {
		return nil, errors.New("the plateau schedule needs validation data")
	}
	if cfg.EarlyStopping.on() && t.val == nil {
		return nil, errors.New("early stopping needs validation data")
	}
	if err := errors.Join(net.SetOptimizer(cfg.Optimizer), net.SetLabelSmoothing(cfg.LabelSmoothing)); err != nil {
		return nil, err
	}
	t.rates = newRates(cfg.Schedule, cfg.LR, cfg.EpochSteps(len(t.trainIdx)), cfg.Epochs)
	t.st.PlateauLR = cfg.LR
	if resume != nil {
		t.st = resume
		if err := errors.Join(t.shuffleSrc.UnmarshalBinary(resume.ShuffleState), gen.SetState(resume.AugmentState)); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	return t, nil
}

// splitValidation returns the indices of the training samples and the
// validation set and samples: the last fraction split of train held out,
// else all of val (nil: no validation).
func splitValidation(train, val *DeviceSet, split float64) (trainIdx []int, valSet *DeviceSet, valIdx []int, err error) {
	trainIdx = allSamples(train.N)
	if split > 0 {
		held := int(float64(train.N) * split)
		if held == 0 || held == train.N {
			return nil, nil, nil, fmt.Errorf("validation split %g of %d samples leaves an empty part", split, train.N)
		}
		return trainIdx[:train.N-held], train, trainIdx[train.N-held:], nil
	}
	if val == nil {
		return trainIdx, nil, nil, nil
	}
	return trainIdx, val, allSamples(val.N), nil
}

// allSamples are the indices of a set of n samples.
func allSamples(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// epoch trains epoch st.Epoch from where st stands, then ends it; a stop
// mid-epoch returns ErrStopped once the checkpoint is written.
func (t *trainer) epoch() error {
	st := t.st
	// The generator as it is before this epoch's permutation: a resumed
	// run restored it to exactly this.
	var err error
	if st.ShuffleState, err = t.shuffleSrc.MarshalBinary(); err != nil {
		return err
	}
	if st.Done == 0 {
		st.Totals, st.LogTotals, st.LogSeconds = kernels.Totals{}, kernels.Totals{}, 0
	}
	t.seen = 0
	for _, e := range st.History {
		t.seen += e.Images
	}
	order := append([]int(nil), t.trainIdx...)
	if t.cfg.Shuffle {
		t.shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	steps := t.cfg.EpochSteps(len(order))
	if err := t.net.SetTotals(st.Totals); err != nil {
		return err
	}
	start := time.Now().Add(-time.Duration(st.EpochSeconds * float64(time.Second)))
	for st.Done < steps {
		if err := t.step(order, steps, start); err != nil {
			return err
		}
	}
	return t.endEpoch(start)
}

// step trains the epoch's next batch and reports it; asked to stop, or
// every Hooks.CheckpointEvery iterations, it checkpoints, unless the step
// ends the epoch (endEpoch checkpoints then).
func (t *trainer) step(order []int, steps int, start time.Time) error {
	st, net := t.st, t.net
	batch := order[st.Done*net.Batch : min((st.Done+1)*net.Batch, len(order))]
	st.Counter++
	var affines []float32
	if !t.cfg.Augment.Identity() {
		affines = t.gen.Batch(net.Batch)
	}
	t.rate = t.rates.at(int(st.Counter)-1, st.PlateauLR)
	feed := Feed{Counter: st.Counter, Seed: t.seed, Indices: batch, Affines: affines, Ahead: batchesAhead(order, net.Batch, st.Done+1, steps)}
	t.cfg.Optimizer.stepValues(&feed, t.rate, st.Counter)
	began := time.Now()
	if err := net.Step(t.train, ModeTrain, t.warp, feed); err != nil {
		return fmt.Errorf("epoch %d, step %d: %w", st.Epoch, st.Done+1, err)
	}
	t.watch(time.Since(began))
	st.Done++
	st.Images += len(batch)
	totals, err := net.RawTotals()
	if err != nil {
		return err
	}
	loss, acc := meanOf(totals, kernels.Totals{})
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("the loss became %g at epoch %d, step %d (iteration %d): training stopped", loss, st.Epoch, st.Done, st.Counter)
	}
	if t.cfg.Optimizer.ClipNorm > 0 {
		norm, err := net.GradNorm()
		if err != nil {
			return err
		}
		st.LogGradNorm = max(st.LogGradNorm, norm)
	}
	elapsed := time.Since(start)
	if err := t.log(totals, steps, elapsed); err != nil {
		return err
	}
	if t.hooks.Progress != nil {
		t.hooks.Progress(Progress{Epoch: st.Epoch, Epochs: t.cfg.Epochs, Step: st.Done, Steps: steps, Loss: loss, Acc: acc,
			ImagesPerSecond: float64(st.Images) / elapsed.Seconds(), Elapsed: elapsed})
	}
	t.stop = t.stop || (t.hooks.Stop != nil && t.hooks.Stop())
	every := t.hooks.CheckpointEvery > 0 && int(st.Counter)%t.hooks.CheckpointEvery == 0
	if !(t.stop || every) || st.Done == steps {
		return nil
	}
	st.Totals, st.EpochSeconds = totals, elapsed.Seconds()
	if err := t.checkpoint(); err != nil {
		return err
	}
	if t.stop {
		return ErrStopped
	}
	return nil
}

// watchSteps is how many of the last steps' times the watchdog follows.
const watchSteps = 63

// watch notes a step's time and bounds the next submissions' by 20 times
// the median of the last steps (never below the device's watchdog): a
// step that takes that long is hung. Lavapipe's standard-model steps take
// a minute or two, a GPU's milliseconds. The process's first step, which
// builds the pipelines, does not count.
func (t *trainer) watch(d time.Duration) {
	if !t.firstStepDone {
		t.firstStepDone = true
		return
	}
	t.stepTimes = append(t.stepTimes, d)
	if len(t.stepTimes) > watchSteps {
		t.stepTimes = t.stepTimes[1:]
	}
	sorted := slices.Sorted(slices.Values(t.stepTimes))
	t.net.ctx.SetWatchdog(20 * sorted[len(sorted)/2])
}

// log sends Hooks.Log a row every TrainConfig.LogEvery steps and at the
// epoch's end.
func (t *trainer) log(totals kernels.Totals, steps int, elapsed time.Duration) error {
	st := t.st
	if t.hooks.Log == nil || (st.Done%t.cfg.logEvery(steps) != 0 && st.Done != steps) {
		return nil
	}
	row := StepLog{Step: int(st.Counter), Epoch: float64(st.Epoch-1) + float64(st.Done)/float64(steps), Images: t.seen + st.Images, LR: t.rate}
	row.Loss, row.Acc = meanOf(totals, st.LogTotals)
	row.ImagesPerSecond = float64(totals.Samples-st.LogTotals.Samples) / (elapsed.Seconds() - st.LogSeconds)
	row.GradNorm = st.LogGradNorm
	if err := t.hooks.Log(row); err != nil {
		return err
	}
	st.LogTotals, st.LogSeconds, st.LogGradNorm = totals, elapsed.Seconds(), 0
	return nil
}

// endEpoch validates, reports the epoch and checkpoints the state the
// next epoch starts from.
func (t *trainer) endEpoch(start time.Time) error {
	st := t.st
	es := EpochStats{Epoch: st.Epoch, Images: st.Images}
	totals, err := t.net.RawTotals()
	if err != nil {
		return err
	}
	es.Loss, es.Acc = meanOf(totals, kernels.Totals{})
	trainTime := time.Since(start)
	es.ImagesPerSecond = float64(st.Images) / trainTime.Seconds()
	if t.val != nil {
		if err := t.validate(&es); err != nil {
			return err
		}
	}
	es.Seconds = time.Since(start).Seconds()
	es.ValidationSecond = es.Seconds - trainTime.Seconds()
	t.plateau(es)
	es.Stopped = t.earlyStop(es)
	st.Stopped = es.Stopped
	st.History = append(st.History, es)
	if t.hooks.Epoch != nil {
		if err := t.hooks.Epoch(es); err != nil {
			return err
		}
	}
	// The state after an epoch: the next one starts afresh.
	st.Epoch, st.Done, st.Images, st.EpochSeconds = st.Epoch+1, 0, 0, 0
	st.Totals, st.LogTotals, st.LogSeconds = kernels.Totals{}, kernels.Totals{}, 0
	if st.ShuffleState, err = t.shuffleSrc.MarshalBinary(); err != nil {
		return err
	}
	return t.checkpoint()
}

// plateau moves the plateau schedule's rate after an epoch, as
// ReduceLROnPlateau: by its factor, down to its minimum, once the metric
// has not improved for more than its patience.
func (t *trainer) plateau(es EpochStats) {
	s, st := t.cfg.Schedule, t.st
	if s.Name != SchedPlateau {
		return
	}
	st.Plateau.follow(s.Monitor, monitored(es, s.Monitor), plateauThreshold, 0)
	if st.Plateau.Bad > s.Patience {
		if lower := max(st.PlateauLR*s.Factor, s.MinLR); st.PlateauLR-lower > 1e-8 {
			st.PlateauLR = lower
		}
		st.Plateau.Bad = 0
	}
}

// earlyStop follows early stopping's metric through an epoch and says
// why the run stops after it, as Keras' EarlyStopping: the metric has not
// improved by more than MinDelta for Patience epochs ("" to go on).
func (t *trainer) earlyStop(es EpochStats) string {
	e, st := t.cfg.EarlyStopping, t.st
	if !e.on() {
		return ""
	}
	if st.Stopping.follow(e.Monitor, monitored(es, e.Monitor), 0, e.MinDelta) {
		st.Stopping.Epoch = es.Epoch
	}
	if st.Stopping.Bad < e.Patience || es.Epoch == t.cfg.Epochs {
		return ""
	}
	epochs := fmt.Sprintf("%d epochs", st.Stopping.Bad)
	if st.Stopping.Bad == 1 {
		epochs = "1 epoch"
	}
	return fmt.Sprintf("early stopping: %s has not improved by more than %g for %s (best %.4f at epoch %d)",
		e.Monitor, e.MinDelta, epochs, st.Stopping.Best, st.Stopping.Epoch)
}

// monitored is an epoch's value of a validation metric.
func monitored(es EpochStats, monitor string) float64 {
	if monitor == MonitorValAcc {
		return es.ValAcc
	}
	return es.ValLoss
}

// validate evaluates the epoch's weights on the validation samples, and
// with TrainConfig.KeepBest keeps them if they are the best so far.
func (t *trainer) validate(es *EpochStats) error {
	var err error
	if es.ValLoss, es.ValAcc, err = Evaluate(t.net, t.val, t.valIdx, nil); err != nil {
		return fmt.Errorf("epoch %d validation: %w", es.Epoch, err)
	}
	es.HasVal = true
	if t.cfg.KeepBest && es.ValLoss < t.st.BestLoss {
		t.st.BestLoss = es.ValLoss
		t.st.Best, err = t.net.Params()
	}
	return err
}

// checkpoint hands Hooks.Checkpoint the state, with the augmentation
// generator's.
func (t *trainer) checkpoint() error {
	if t.hooks.Checkpoint == nil {
		return nil
	}
	var err error
	if t.st.AugmentState, err = t.gen.State(); err != nil {
		return err
	}
	return t.hooks.Checkpoint(t.st)
}

// meanOf is the mean loss and accuracy of the samples counted in totals
// since since.
func meanOf(totals, since kernels.Totals) (loss, acc float64) {
	n := float64(totals.Samples) - float64(since.Samples)
	return (float64(totals.Loss) - float64(since.Loss)) / n, (float64(totals.Correct) - float64(since.Correct)) / n
}

// Evaluate runs the model without dropout over the samples indices of set
// (all of it when nil) and returns the mean loss and the accuracy. After
// each batch, perBatch (if not nil) may read the network's logits and
// predictions for the batch's samples.
func Evaluate(net *Net, set *DeviceSet, indices []int, perBatch func(batch []int) error) (loss, acc float64, err error) {
	if indices == nil {
		indices = allSamples(set.N)
	}
	if err := net.ResetTotals(); err != nil {
		return 0, 0, err
	}
	steps := (len(indices) + net.Batch - 1) / net.Batch
	for s := 0; s < len(indices); s += net.Batch {
		batch := indices[s:min(s+net.Batch, len(indices))]
		ahead := batchesAhead(indices, net.Batch, s/net.Batch+1, steps)
		if err := net.Step(set, ModeEval, augment.Sampling{}, Feed{Indices: batch, Ahead: ahead}); err != nil {
			return 0, 0, err
		}
		if perBatch != nil {
			if err := perBatch(batch); err != nil {
				return 0, 0, err
			}
		}
	}
	loss, acc, _, err = net.Totals()
	return loss, acc, err
}

package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"vkcnn/augment"
)

// TrainConfig is one training run's settings.
type TrainConfig struct {
	Epochs, BatchSize int
	// StepsPerEpoch, when positive, cuts each epoch short.
	StepsPerEpoch int
	LR            float64
	Seed          uint64
	Shuffle       bool
	Augment       augment.Config
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
	return c.Augment.Check()
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
	LR              float64 // Adam's base learning rate
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
	// Stop is asked after every step; true ends training with
	// ErrStopped once the checkpoint is written.
	Stop func() bool
}

// ErrStopped means Hooks.Stop ended training early.
var ErrStopped = errors.New("training stopped")

// TrainState is where a run stands between two steps: with the network's
// parameters and Adam's moments, enough to continue bit for bit.
type TrainState struct {
	Epoch int // the epoch under way, from 1
	Step  int // steps of it done
	// Counter is Adam's iteration count, also the dropout step.
	Counter uint32
	// ShuffleState is the shuffling generator as it was when this epoch
	// began (before its permutation was drawn); AugmentState is the
	// augmentation generator now.
	ShuffleState, AugmentState []byte
	// Totals are the epoch's loss and accuracy counters so far.
	Totals [4]float32
	// LogTotals and LogSeconds are Totals and the epoch's seconds at the
	// last Hooks.Log row of this epoch.
	LogTotals    [4]float32
	LogSeconds   float64
	EpochSeconds float64
	Images       int
	History      []EpochStats
	// With TrainConfig.KeepBest: the best validation loss so far and its
	// parameters (nil before the first epoch ends).
	BestLoss float64
	Best     []float32
}

// Train trains net on train for cfg.Epochs epochs, validating after each
// on val (or on the held-out part of train with cfg.ValSplit). A non-nil
// resume continues a run from its state (the network must hold the
// parameters and Adam moments saved with it). It returns the history.
func Train(net *Net, train, val *DeviceSet, cfg TrainConfig, hooks *Hooks, resume *TrainState) ([]EpochStats, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.BatchSize != net.Batch {
		return nil, fmt.Errorf("batch size %d, the network was built for %d", cfg.BatchSize, net.Batch)
	}
	if hooks == nil {
		hooks = &Hooks{}
	}
	gen, err := augment.NewGenerator(cfg.Augment, cfg.Seed)
	if err != nil {
		return nil, err
	}
	shuffleSrc := rand.NewPCG(cfg.Seed, 0x73687566) // second word: a fixed stream for shuffling
	shuffle := rand.New(shuffleSrc)
	trainIdx := make([]int, train.N)
	for i := range trainIdx {
		trainIdx[i] = i
	}
	valSet, valIdx := val, []int(nil)
	if cfg.ValSplit > 0 {
		held := int(float64(train.N) * cfg.ValSplit)
		if held == 0 || held == train.N {
			return nil, fmt.Errorf("validation split %g of %d samples leaves an empty part", cfg.ValSplit, train.N)
		}
		valSet, valIdx = train, trainIdx[train.N-held:]
		trainIdx = trainIdx[:train.N-held]
	} else if val != nil {
		valIdx = make([]int, val.N)
		for i := range valIdx {
			valIdx[i] = i
		}
	}
	if cfg.KeepBest && valSet == nil {
		return nil, errors.New("keeping the best epoch needs validation data")
	}
	st := &TrainState{Epoch: 1, BestLoss: math.Inf(1)}
	if resume != nil {
		st = resume
		if err := errors.Join(shuffleSrc.UnmarshalBinary(st.ShuffleState), gen.SetState(st.AugmentState)); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	warp := cfg.Augment.Sampling()
	seed := uint32(cfg.Seed) ^ uint32(cfg.Seed>>32)
	checkpoint := func() error {
		if hooks.Checkpoint == nil {
			return nil
		}
		var err error
		if st.AugmentState, err = gen.State(); err != nil {
			return err
		}
		return hooks.Checkpoint(st)
	}
	stop := false // asked by Hooks.Stop; honoured at the next checkpoint
	for st.Epoch <= cfg.Epochs {
		epoch := st.Epoch
		// The generator as it is before this epoch's permutation: a
		// resumed run restored it to exactly this.
		if st.ShuffleState, err = shuffleSrc.MarshalBinary(); err != nil {
			return st.History, err
		}
		if st.Step == 0 {
			st.Totals, st.LogTotals, st.LogSeconds = [4]float32{}, [4]float32{}, 0
		}
		seen := 0 // images of the epochs before
		for _, e := range st.History {
			seen += e.Images
		}
		order := append([]int(nil), trainIdx...)
		if cfg.Shuffle {
			shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		steps := cfg.EpochSteps(len(order))
		logEvery := cfg.logEvery(steps)
		if err := net.SetTotals(st.Totals); err != nil {
			return st.History, err
		}
		start := time.Now().Add(-time.Duration(st.EpochSeconds * float64(time.Second)))
		for ; st.Step < steps; st.Step++ {
			s := st.Step
			batch := order[s*net.Batch : min((s+1)*net.Batch, len(order))]
			st.Counter++
			var affines []float32
			if !cfg.Augment.Identity() {
				affines = gen.Batch(net.Batch)
			}
			v := StepValues{Counter: st.Counter, Seed: seed, LR: AdamLR(cfg.LR, st.Counter), Indices: batch, Affines: affines}
			if err := net.Step(train, ModeTrain, warp, v); err != nil {
				return st.History, fmt.Errorf("epoch %d, step %d: %w", epoch, s+1, err)
			}
			st.Images += len(batch)
			totals, err := net.RawTotals()
			if err != nil {
				return st.History, err
			}
			loss, acc := meanOf(totals, [4]float32{})
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return st.History, fmt.Errorf("the loss became %g at epoch %d, step %d (iteration %d): training stopped", loss, epoch, s+1, st.Counter)
			}
			elapsed := time.Since(start)
			if hooks.Log != nil && ((s+1)%logEvery == 0 || s+1 == steps) {
				row := StepLog{Step: int(st.Counter), Epoch: float64(epoch-1) + float64(s+1)/float64(steps), Images: seen + st.Images, LR: cfg.LR}
				row.Loss, row.Acc = meanOf(totals, st.LogTotals)
				row.ImagesPerSecond = float64(totals[3]-st.LogTotals[3]) / (elapsed.Seconds() - st.LogSeconds)
				if err := hooks.Log(row); err != nil {
					return st.History, err
				}
				st.LogTotals, st.LogSeconds = totals, elapsed.Seconds()
			}
			if hooks.Progress != nil {
				hooks.Progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: s + 1, Steps: steps, Loss: loss, Acc: acc,
					ImagesPerSecond: float64(st.Images) / elapsed.Seconds(), Elapsed: elapsed})
			}
			stop = stop || (hooks.Stop != nil && hooks.Stop())
			every := hooks.CheckpointEvery > 0 && int(st.Counter)%hooks.CheckpointEvery == 0
			if (stop || every) && s+1 < steps {
				st.Step++ // this step is done
				st.Totals, st.EpochSeconds = totals, elapsed.Seconds()
				err := checkpoint()
				st.Step--
				if err != nil {
					return st.History, err
				}
				if stop {
					return st.History, ErrStopped
				}
			}
		}
		es := EpochStats{Epoch: epoch, Images: st.Images}
		totals, err := net.RawTotals()
		if err != nil {
			return st.History, err
		}
		es.Loss, es.Acc = meanOf(totals, [4]float32{})
		trainTime := time.Since(start)
		es.ImagesPerSecond = float64(st.Images) / trainTime.Seconds()
		if valSet != nil {
			if es.ValLoss, es.ValAcc, err = Evaluate(net, valSet, valIdx, nil); err != nil {
				return st.History, fmt.Errorf("epoch %d validation: %w", epoch, err)
			}
			es.HasVal = true
			if cfg.KeepBest && es.ValLoss < st.BestLoss {
				st.BestLoss = es.ValLoss
				if st.Best, err = net.Params(); err != nil {
					return st.History, err
				}
			}
		}
		es.Seconds = time.Since(start).Seconds()
		es.ValidationSecond = es.Seconds - trainTime.Seconds()
		st.History = append(st.History, es)
		if hooks.Epoch != nil {
			if err := hooks.Epoch(es); err != nil {
				return st.History, err
			}
		}
		// The state after an epoch: the next one starts afresh.
		st.Epoch, st.Step, st.Images, st.EpochSeconds = epoch+1, 0, 0, 0
		st.Totals, st.LogTotals, st.LogSeconds = [4]float32{}, [4]float32{}, 0
		if st.ShuffleState, err = shuffleSrc.MarshalBinary(); err != nil {
			return st.History, err
		}
		if err := checkpoint(); err != nil {
			return st.History, err
		}
		if stop && st.Epoch <= cfg.Epochs {
			return st.History, ErrStopped
		}
	}
	if cfg.KeepBest && st.Best != nil {
		if err := net.SetParams(st.Best); err != nil {
			return st.History, err
		}
	}
	return st.History, nil
}

// meanOf is the mean loss and accuracy of the samples counted in totals
// (Net.RawTotals: loss sum, its compensation, correct, samples) since
// since.
func meanOf(totals, since [4]float32) (loss, acc float64) {
	n := float64(totals[3]) - float64(since[3])
	return (float64(totals[0]) - float64(since[0])) / n, (float64(totals[2]) - float64(since[2])) / n
}

// Evaluate runs the model without dropout over the samples indices of set
// (all of it when nil) and returns the mean loss and the accuracy. After
// each batch, perBatch (if not nil) may read the network's logits and
// predictions for the batch's samples.
func Evaluate(net *Net, set *DeviceSet, indices []int, perBatch func(batch []int) error) (loss, acc float64, err error) {
	if indices == nil {
		indices = make([]int, set.N)
		for i := range indices {
			indices[i] = i
		}
	}
	if err := net.ResetTotals(); err != nil {
		return 0, 0, err
	}
	for s := 0; s < len(indices); s += net.Batch {
		batch := indices[s:min(s+net.Batch, len(indices))]
		if err := net.Step(set, ModeEval, augment.Sampling{}, StepValues{Indices: batch}); err != nil {
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

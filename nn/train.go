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
}

// Check reports the first invalid setting.
func (c TrainConfig) Check() error {
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("epochs %d must be positive", c.Epochs)
	case c.BatchSize <= 0:
		return fmt.Errorf("batch size %d must be positive", c.BatchSize)
	case c.StepsPerEpoch < 0:
		return fmt.Errorf("steps %d must not be negative", c.StepsPerEpoch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate %g must be a positive number", c.LR)
	case c.ValSplit < 0 || c.ValSplit >= 1 || math.IsNaN(c.ValSplit):
		return fmt.Errorf("validation split %g outside [0, 1)", c.ValSplit)
	}
	return c.Augment.Check()
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

// Hooks let the caller watch and steer training; either may be nil.
type Hooks struct {
	Progress func(Progress)
	// Epoch runs after each epoch; an error stops training.
	Epoch func(EpochStats) error
}

// Train trains net on train for cfg.Epochs epochs, validating after each
// on val (or on the held-out part of train with cfg.ValSplit). It returns
// the history.
func Train(net *Net, train, val *DeviceSet, cfg TrainConfig, hooks *Hooks) ([]EpochStats, error) {
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
	shuffle := rand.New(rand.NewPCG(cfg.Seed, 0x73687566)) // second word: a fixed stream for shuffling
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
	fill := cfg.Augment.FillMode()
	seed := uint32(cfg.Seed) ^ uint32(cfg.Seed>>32)
	var (
		history  []EpochStats
		counter  uint32
		best     []float32
		bestLoss = math.Inf(1)
	)
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		start := time.Now()
		order := append([]int(nil), trainIdx...)
		if cfg.Shuffle {
			shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		steps := (len(order) + net.Batch - 1) / net.Batch
		if cfg.StepsPerEpoch > 0 {
			steps = min(steps, cfg.StepsPerEpoch)
		}
		if err := net.ResetTotals(); err != nil {
			return history, err
		}
		images := 0
		for s := 0; s < steps; s++ {
			batch := order[s*net.Batch : min((s+1)*net.Batch, len(order))]
			counter++
			var affines []float32
			if !cfg.Augment.Identity() {
				affines = gen.Batch(net.Batch)
			}
			v := StepValues{Counter: counter, Seed: seed, LR: AdamLR(cfg.LR, counter), Indices: batch, Affines: affines}
			if err := net.Step(train, ModeTrain, fill, v); err != nil {
				return history, fmt.Errorf("epoch %d, step %d: %w", epoch, s+1, err)
			}
			images += len(batch)
			loss, acc, _, err := net.Totals()
			if err != nil {
				return history, err
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return history, fmt.Errorf("the loss became %g at epoch %d, step %d (iteration %d): training stopped", loss, epoch, s+1, counter)
			}
			if hooks.Progress != nil {
				elapsed := time.Since(start)
				hooks.Progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Step: s + 1, Steps: steps, Loss: loss, Acc: acc,
					ImagesPerSecond: float64(images) / elapsed.Seconds(), Elapsed: elapsed})
			}
		}
		st := EpochStats{Epoch: epoch, Images: images}
		var err error
		if st.Loss, st.Acc, _, err = net.Totals(); err != nil {
			return history, err
		}
		trainTime := time.Since(start)
		st.ImagesPerSecond = float64(images) / trainTime.Seconds()
		if valSet != nil {
			if st.ValLoss, st.ValAcc, err = Evaluate(net, valSet, valIdx, nil); err != nil {
				return history, fmt.Errorf("epoch %d validation: %w", epoch, err)
			}
			st.HasVal = true
			if cfg.KeepBest && st.ValLoss < bestLoss {
				bestLoss = st.ValLoss
				if best, err = net.Params(); err != nil {
					return history, err
				}
			}
		}
		st.Seconds = time.Since(start).Seconds()
		st.ValidationSecond = st.Seconds - trainTime.Seconds()
		history = append(history, st)
		if hooks.Epoch != nil {
			if err := hooks.Epoch(st); err != nil {
				return history, err
			}
		}
	}
	if cfg.KeepBest && best != nil {
		if err := net.SetParams(best); err != nil {
			return history, err
		}
	}
	return history, nil
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
		if err := net.Step(set, ModeEval, augment.Nearest, StepValues{Indices: batch}); err != nil {
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

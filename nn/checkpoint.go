package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/nn/weights"
)

// WeightsMetadata describes the layout of the tensors in weights files.
var WeightsMetadata = map[string]string{
	"format": "vkcnn",
	"layout": "keras channels_last: conv kernels HWIO [kh, kw, in, out], dense kernels [in, out] with inputs in NHWC flatten order",
}

// Tensors returns the weight vector as named tensors in Keras' layouts.
func (m *Model) Tensors(params []float32) []weights.Tensor {
	return m.tensors(params, false)
}

// tensors returns the tensors of a vector laid out as the weights: of
// every parameter, or of the trainable ones (gradients, Adam's moments).
func (m *Model) tensors(values []float32, trainableOnly bool) []weights.Tensor {
	var out []weights.Tensor
	for _, p := range m.Params {
		if p.Trainable || !trainableOnly {
			out = append(out, weights.Tensor{Name: p.Name, Shape: slices.Clone(p.Shape), Data: values[p.Offset : p.Offset+p.Size()]})
		}
	}
	return out
}

// SaveWeights writes the weight vector to a safetensors file, atomically:
// every parameter, batch normalization's moving statistics included.
func (m *Model) SaveWeights(path string, params []float32) error {
	meta := map[string]string{"model": m.Spec.Name}
	for k, v := range WeightsMetadata {
		meta[k] = v
	}
	return weights.SaveFile(path, m.Tensors(params), meta)
}

// LoadWeights reads a safetensors file into a weight vector, checking
// that it holds exactly this model's tensors.
func (m *Model) LoadWeights(path string) ([]float32, error) {
	tensors, _, err := weights.LoadFile(path)
	if err != nil {
		return nil, err
	}
	params, err := m.fromTensors(tensors, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return params, nil
}

// fromTensors is the inverse of tensors: it checks that tensors are
// exactly those of the model's parameters (its trainable ones) and lays
// them out in a vector.
func (m *Model) fromTensors(tensors []weights.Tensor, trainableOnly bool) ([]float32, error) {
	byName := make(map[string]weights.Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	size := m.ParamFloats
	if trainableOnly {
		size = m.TrainableFloats
	}
	params := make([]float32, size)
	for _, p := range m.Params {
		if trainableOnly && !p.Trainable {
			continue
		}
		t, ok := byName[p.Name]
		if !ok {
			return nil, fmt.Errorf("weights for another architecture: no tensor %s (shape %v)", p.Name, p.Shape)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return nil, fmt.Errorf("weights for another architecture: %s has shape %v, the model needs %v", p.Name, t.Shape, p.Shape)
		}
		copy(params[p.Offset:], t.Data)
		delete(byName, p.Name)
	}
	for _, t := range tensors {
		if _, extra := byName[t.Name]; extra {
			return nil, fmt.Errorf("weights for another architecture: tensor %s (shape %v) is not in the model", t.Name, t.Shape)
		}
	}
	return params, nil
}

// checkpointMeta is the part of a checkpoint that is not a tensor.
type checkpointMeta struct {
	Config TrainConfig `json:"config"`
	State  TrainState  `json:"state"`
}

// parseCheckpointMeta reads a checkpoint's metadata. Checkpoints written
// before augmentation had a choice of interpolation were trained with
// bilinear sampling, so that is what a checkpoint without one resumes with.
func parseCheckpointMeta(js string) (checkpointMeta, error) {
	var meta checkpointMeta
	meta.Config.Augment.Interp = augment.Bilinear
	if err := json.Unmarshal([]byte(js), &meta); err != nil {
		return meta, fmt.Errorf("corrupt checkpoint metadata: %w", err)
	}
	return meta, nil
}

// checkpointGroup is a group of a checkpoint's tensors, by the prefix of
// their names.
type checkpointGroup struct {
	prefix        string
	trainableOnly bool
}

// checkpointGroups are a checkpoint's groups of tensors: the weights, the
// optimizer's state vectors (of the trainable parameters: adam_m/ and
// adam_v/ for the Adams, momentum/ for SGD with momentum, square_avg/ for
// RMSprop) and the best weights so far; all but the last are required.
func checkpointGroups(o Optimizer) []checkpointGroup {
	groups := []checkpointGroup{{"", false}}
	for _, name := range o.stateNames() {
		groups = append(groups, checkpointGroup{name + "/", true})
	}
	return append(groups, checkpointGroup{"best/", false})
}

// SaveCheckpoint writes everything needed to continue training: the
// weights (batch normalization's moving statistics included), the
// optimizer's state, the best weights so far (with KeepBest) and the
// state, atomically.
func (n *Net) SaveCheckpoint(path string, cfg TrainConfig, st *TrainState) error {
	params, err := n.Params()
	if err != nil {
		return err
	}
	m, v, err := n.OptimizerState()
	if err != nil {
		return err
	}
	groups := checkpointGroups(cfg.Optimizer)
	vectors := append([][]float32{params, m, v}[:len(groups)-1], st.Best)
	var tensors []weights.Tensor
	for i, values := range vectors {
		if values == nil {
			continue
		}
		group := groups[i]
		for _, t := range n.Model.tensors(values, group.trainableOnly) {
			t.Name = group.prefix + t.Name
			tensors = append(tensors, t)
		}
	}
	meta := checkpointMeta{Config: cfg, State: *st}
	meta.State.Best = nil // a tensor above
	if math.IsInf(meta.State.BestLoss, 0) {
		meta.State.BestLoss = -1 // JSON has no infinity
	}
	js, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return weights.SaveFile(path, tensors, map[string]string{"format": "vkcnn checkpoint", "checkpoint": string(js)})
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint for this
// model: the weights, the optimizer's state vectors (nil where it keeps
// fewer than two), the configuration and the state.
func (m *Model) LoadCheckpoint(path string) (params, state1, state2 []float32, cfg TrainConfig, st *TrainState, err error) {
	tensors, metadata, err := weights.LoadFile(path)
	if err != nil {
		return nil, nil, nil, cfg, nil, err
	}
	fail := func(err error) ([]float32, []float32, []float32, TrainConfig, *TrainState, error) {
		return nil, nil, nil, cfg, nil, fmt.Errorf("%s: %w", path, err)
	}
	js, ok := metadata["checkpoint"]
	if !ok {
		return fail(errors.New("not a vkcnn checkpoint (no checkpoint metadata)"))
	}
	meta, err := parseCheckpointMeta(js)
	if err != nil {
		return fail(err)
	}
	groups := map[string][]weights.Tensor{}
	for _, t := range tensors {
		prefix := ""
		if i := strings.IndexByte(t.Name, '/'); i >= 0 {
			prefix, t.Name = t.Name[:i+1], t.Name[i+1:]
		}
		groups[prefix] = append(groups[prefix], t)
	}
	if err := meta.Config.Optimizer.Check(); err != nil {
		return fail(fmt.Errorf("checkpoint configuration: %w", err))
	}
	checkpointGroups := checkpointGroups(meta.Config.Optimizer)
	vectors := make([][]float32, 4)
	for i, group := range checkpointGroups {
		if group.prefix == "best/" {
			i = 3
		}
		ts, ok := groups[group.prefix]
		if !ok && group.prefix != "best/" {
			return fail(fmt.Errorf("the checkpoint lacks its %q tensors", group.prefix))
		}
		delete(groups, group.prefix)
		if !ok {
			continue
		}
		if vectors[i], err = m.fromTensors(ts, group.trainableOnly); err != nil {
			return fail(fmt.Errorf("%s: %w", strings.TrimSuffix(group.prefix, "/"), err))
		}
	}
	for prefix := range groups { // a group left over is not one of ours
		return fail(fmt.Errorf("unexpected tensor group %q", prefix))
	}
	st = &meta.State
	st.Best = vectors[3]
	if st.BestLoss < 0 {
		st.BestLoss = math.Inf(1)
	}
	if err := meta.Config.Check(); err != nil {
		return fail(fmt.Errorf("checkpoint configuration: %w", err))
	}
	if st.Epoch < 1 || st.Done < 0 {
		return fail(fmt.Errorf("checkpoint at epoch %d, step %d", st.Epoch, st.Done))
	}
	return vectors[0], vectors[1], vectors[2], meta.Config, st, nil
}

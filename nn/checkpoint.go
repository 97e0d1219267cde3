package nn

import (
	"fmt"
	"slices"

	"vkcnn/nn/weights"
)

// WeightsMetadata describes the layout of the tensors in weights files.
var WeightsMetadata = map[string]string{
	"format": "vkcnn",
	"layout": "keras channels_last: conv kernels HWIO [kh, kw, in, out], dense kernels [in, out] with inputs in NHWC flatten order",
}

// Tensors returns the parameters as named tensors in Keras' layouts.
func (m *Model) Tensors(params []float32) []weights.Tensor {
	out := make([]weights.Tensor, len(m.Params))
	for i, p := range m.Params {
		out[i] = weights.Tensor{Name: p.Name, Shape: slices.Clone(p.Shape), Data: params[p.Offset : p.Offset+p.Size()]}
	}
	return out
}

// SaveWeights writes the parameters to a safetensors file, atomically.
func (m *Model) SaveWeights(path string, params []float32) error {
	meta := map[string]string{"model": m.Spec.Name}
	for k, v := range WeightsMetadata {
		meta[k] = v
	}
	return weights.SaveFile(path, m.Tensors(params), meta)
}

// LoadWeights reads a safetensors file into a parameter vector, checking
// that it holds exactly this model's tensors.
func (m *Model) LoadWeights(path string) ([]float32, error) {
	tensors, _, err := weights.LoadFile(path)
	if err != nil {
		return nil, err
	}
	params, err := m.fromTensors(tensors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return params, nil
}

func (m *Model) fromTensors(tensors []weights.Tensor) ([]float32, error) {
	byName := make(map[string]weights.Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	params := make([]float32, m.ParamFloats)
	for _, p := range m.Params {
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

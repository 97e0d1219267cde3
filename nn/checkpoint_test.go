package nn

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/augment"
)

func TestWeightsRoundTripBitExact(t *testing.T) {
	spec, _ := Preset("small")
	m, _ := Build(spec)
	params := m.Init(4)
	params[m.Params[1].Offset] = float32(math.Copysign(0, -1)) // -0 must survive
	path := filepath.Join(t.TempDir(), "weights.safetensors")
	if err := m.SaveWeights(path, params); err != nil {
		t.Fatal(err)
	}
	back, err := m.LoadWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params {
		for i := p.Offset; i < p.Offset+p.Size(); i++ {
			if math.Float32bits(back[i]) != math.Float32bits(params[i]) {
				t.Fatalf("%s[%d]: %g became %g", p.Name, i-p.Offset, params[i], back[i])
			}
		}
	}
}

func TestWeightsForAnotherArchitecture(t *testing.T) {
	small, _ := Preset("small")
	m, _ := Build(small)
	path := filepath.Join(t.TempDir(), "weights.safetensors")
	if err := m.SaveWeights(path, m.Init(1)); err != nil {
		t.Fatal(err)
	}
	wider := small
	wider.Layers = append([]LayerSpec(nil), small.Layers...)
	wider.Layers[0].Filters = 48
	w, _ := Build(wider)
	_, err := w.LoadWeights(path)
	if err == nil || !strings.Contains(err.Error(), "conv2d_1.kernel has shape [5 5 1 32], the model needs [5 5 1 48]") {
		t.Fatalf("loading into a wider model: %v", err)
	}
	standard, _ := Preset("standard")
	s, _ := Build(standard)
	if _, err := s.LoadWeights(path); err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Fatalf("loading into the standard model: %v", err)
	}
}

// A checkpoint records the interpolation by name; one written before there
// was a choice (no such field) resumes bilinear, as it was trained.
func TestCheckpointInterpolation(t *testing.T) {
	cfg := TrainConfig{Epochs: 1, BatchSize: 8, LR: 1e-3, Augment: augment.Config{ShiftFrac: 0.1}}
	js, err := json.Marshal(checkpointMeta{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"Interp":"nearest"`) {
		t.Fatalf("checkpoint metadata %s does not name the interpolation", js)
	}
	meta, err := parseCheckpointMeta(string(js))
	if err != nil || meta.Config.Augment.Interp != augment.NearestNeighbour {
		t.Fatalf("round trip: %v, %v", meta.Config.Augment.Interp, err)
	}
	old := strings.Replace(string(js), `,"Interp":"nearest"`, "", 1)
	if old == string(js) {
		t.Fatal("could not remove the field")
	}
	if meta, err = parseCheckpointMeta(old); err != nil || meta.Config.Augment.Interp != augment.Bilinear {
		t.Fatalf("a checkpoint without interpolation resumes %v (%v), want bilinear", meta.Config.Augment.Interp, err)
	}
	if _, err := parseCheckpointMeta(strings.Replace(string(js), `"nearest"`, `"cubic"`, 1)); err == nil || !strings.Contains(err.Error(), "unknown interpolation") {
		t.Fatalf("unknown interpolation: %v", err)
	}
}

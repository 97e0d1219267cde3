package nn

import (
	"slices"
	"testing"
)

// fusedLayers names the layers that run a ReLU after them, and the relu
// layers they run.
func fusedLayers(m *Model) (runs, fused []string) {
	for _, l := range m.Layers {
		switch r := l.rec.(type) {
		case *batchNorm:
			if r.relu {
				runs = append(runs, l.Spec.Name)
			}
		case *add:
			if r.relu {
				runs = append(runs, l.Spec.Name)
			}
		case relu:
			if r.fused {
				fused = append(fused, l.Spec.Name)
			}
		}
	}
	return runs, fused
}

// TestFuseFoldsReLUs: resnet20's ReLUs all run in the batch normalization
// or add before them; a relu whose input another layer reads too, or
// that follows a layer of another kind, runs on its own.
func TestFuseFoldsReLUs(t *testing.T) {
	spec, _ := Preset("resnet20")
	m, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	runs, fused := fusedLayers(m)
	if len(runs) != 19 || len(fused) != 19 || runs[0] != "stem_bn" || fused[0] != "stem_relu" ||
		!slices.Contains(runs, "stage3_block3_add") || !slices.Contains(fused, "stage3_block3_out") {
		t.Errorf("resnet20 runs ReLUs in %v, fuses %v; want stem_bn's, each block's bn1's and add's (19)", runs, fused)
	}
	m, err = Build(ModelSpec{Format: GraphFormat, Input: [3]int{8, 8, 1}, Layers: []LayerSpec{
		{Type: "conv2d", Name: "conv", Filters: 2, KernelSize: Pair{3, 3}},
		{Type: "batchnorm", Name: "bn"},
		{Type: "relu", Name: "after_bn"}, // bn is read by the add too
		{Type: "add", Name: "sum", Inputs: []string{"after_bn", "bn"}},
		{Type: "relu", Name: "after_sum"},
		{Type: "relu", Name: "after_relu"}, // a relu's output
		{Type: "flatten"},
		{Type: "dense", Units: 10, Activation: "softmax"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if runs, fused := fusedLayers(m); !slices.Equal(runs, []string{"sum"}) || !slices.Equal(fused, []string{"after_sum"}) {
		t.Errorf("runs ReLUs in %v, fuses %v; want only sum's after_sum", runs, fused)
	}
}

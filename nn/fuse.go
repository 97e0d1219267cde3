package nn

// fuse folds each relu layer into the batchnorm or add layer before it,
// where that layer's output is the relu's only input and nothing else
// reads it: the layer before runs the ReLU in its own passes (one pass
// over memory less forward, the mask folded into its backward), and the
// relu passes its input on. The model's spec, and so its summary, weights
// and ONNX export, stay as they are; the results are bit for bit those
// of the layers apart (TestSequentialModelsTrainAsBefore holds the
// sequential test models, which have such pairs, to them).
func (m *Model) fuse() {
	for j, l := range m.Layers {
		if _, ok := l.rec.(relu); !ok || len(l.Inputs) != 1 {
			continue
		}
		t := l.Inputs[0]
		if t == 0 || len(m.readers[t]) != 1 {
			continue
		}
		switch before := m.Layers[t-1].rec.(type) {
		case *batchNorm:
			before.relu = true
		case *add:
			before.relu = true
		default:
			continue
		}
		m.Layers[j].rec = relu{fused: true}
	}
}

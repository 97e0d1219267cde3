package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// UploadInputs makes a set of Batch samples whose inputs the host gives
// as float32 values (SetInputs): each step copies them to the first
// layer's input in place of the augment shader's gather, warp and
// normalization, so they are the network's input itself. Its labels are
// zero: a step on it is for the logits, its indices 0, 1, ... in order.
func (n *Net) UploadInputs() (*DeviceSet, error) {
	values := n.Batch * n.Model.Input().Size()
	s := &DeviceSet{N: n.Batch}
	var err error
	if s.inputs, err = n.ctx.NewBuffer(4 * int64(values)); err != nil {
		return nil, fmt.Errorf("upload inputs: %w", err)
	}
	n.owned = append(n.owned, s.inputs)
	if s.labels, err = n.ctx.NewBuffer(int64(n.Batch)); err != nil {
		return nil, fmt.Errorf("upload inputs: %w", err)
	}
	n.owned = append(n.owned, s.labels)
	if err := s.labels.Write(0, make([]byte, n.Batch)); err != nil {
		return nil, fmt.Errorf("upload inputs: %w", err)
	}
	return s, nil
}

// SetInputs writes the first samples' inputs of a set from UploadInputs:
// float32 values, HWC, one sample after another.
func (s *DeviceSet) SetInputs(values []float32) error {
	if s.inputs == nil {
		return errors.New("set inputs: not a set of inputs (UploadInputs)")
	}
	if 4*int64(len(values)) > s.inputs.Size() {
		return fmt.Errorf("set inputs: %d values for a set of %d", len(values), s.inputs.Size()/4)
	}
	return s.inputs.WriteFloat32(0, values)
}

// recordInputs copies an input set's values to the first layer's input.
func (n *Net) recordInputs(rec *vk.Recording, set *DeviceSet) error {
	return rec.Copy(whole(set.inputs), vk.Range{Buf: n.acts[0], Size: set.inputs.Size()})
}

package nn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// UploadStreamed puts a data set on the device for streaming: its
// labels are resident, its images stay on the host (images is kept, not
// copied), and each step copies its batch into a window of Batch images
// that the augment shader reads in place of the data set. A set larger
// than the device's memory, or than the augment shader's bindings, trains
// so, bit for bit as it would resident: the shader reads the same bytes.
func (n *Net) UploadStreamed(images []byte, labels []uint8) (*DeviceSet, error) {
	in := n.Model.Input()
	if len(labels) == 0 || len(images) != in.Size()*len(labels) {
		return nil, fmt.Errorf("upload: %d image bytes for %d labels of %dx%dx%d images", len(images), len(labels), in.H, in.W, in.C)
	}
	s := &DeviceSet{N: len(labels), host: images, batch: make([]byte, n.Batch*in.Size())}
	buffer := func(size int64, host bool) *vk.Buffer {
		newBuffer := n.ctx.NewBuffer
		if host {
			newBuffer = n.ctx.NewHostBuffer
		}
		b, err := newBuffer(size)
		if err != nil {
			return nil
		}
		n.owned = append(n.owned, b)
		return b
	}
	s.labels, s.window, s.sequence = buffer(int64(len(labels)), false), buffer(int64(len(s.batch)), false), buffer(4*int64(n.Batch), false)
	if s.labels == nil || s.window == nil || s.sequence == nil {
		return nil, fmt.Errorf("upload a streamed set of %d images: %w", len(labels), vk.ErrOutOfDeviceMemory)
	}
	if !s.window.Mapped() {
		if s.windowUpload = buffer(int64(len(s.batch)), true); s.windowUpload == nil {
			return nil, fmt.Errorf("upload a streamed set of %d images: %w", len(labels), vk.ErrOutOfDeviceMemory)
		}
	}
	sequence := make([]uint32, n.Batch)
	for i := range sequence {
		sequence[i] = uint32(i)
	}
	if err := errors.Join(s.labels.Write(0, labels), s.sequence.WriteUint32(0, sequence)); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return s, nil
}

// Streamed says whether the set's images stay on the host.
func (s *DeviceSet) Streamed() bool { return s.host != nil }

// gather copies the images of order, a step's samples, into the window
// (through its upload buffer, which the step's recording copies over).
func (s *DeviceSet) gather(order []uint32) error {
	size := len(s.batch) / len(order)
	for i, idx := range order {
		copy(s.batch[i*size:(i+1)*size], s.host[int(idx)*size:(int(idx)+1)*size])
	}
	dst := s.window
	if s.windowUpload != nil {
		dst = s.windowUpload
	}
	return dst.Write(0, s.batch)
}

package nn

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk"
)

// ringSlots is how many batches a streamed set's window holds: the one a
// step reads, and the next two, gathered on the host while it runs.
const ringSlots = 3

// UploadStreamed puts a data set on the device for streaming: its
// labels are resident, its images stay on the host (images is kept, not
// copied), and each step's batch is copied into a slot of a window, a
// ring of a few batches on the device that the augment shader reads in
// place of the data set. The next steps' batches are copied into the
// ring's other slots while a step runs (Feed.Ahead). A set larger than
// the device's memory, or than the augment shader's bindings, trains so,
// bit for bit as it would resident: the shader reads the same bytes.
func (n *Net) UploadStreamed(images []byte, labels []uint8) (*DeviceSet, error) {
	in := n.Model.Input()
	if len(labels) == 0 || len(images) != in.Size()*len(labels) {
		return nil, fmt.Errorf("upload: %d image bytes for %d labels of %dx%dx%d images", len(images), len(labels), in.H, in.W, in.C)
	}
	s := &DeviceSet{N: len(labels), host: images, batchBytes: int64(n.Batch * in.Size())}
	// Each slot starts where the shader may bind it.
	s.slotBytes = s.batchBytes
	if align := int64(n.ctx.Info.StorageOffsetAlignment); align > 1 {
		s.slotBytes = (s.batchBytes + align - 1) / align * align
	}
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
	ring := ringSlots * s.slotBytes
	s.labels, s.window, s.sequence = buffer(int64(len(labels)), false), buffer(ring, false), buffer(4*int64(n.Batch), false)
	if s.labels == nil || s.window == nil || s.sequence == nil {
		return nil, fmt.Errorf("upload a streamed set of %d images: %w", len(labels), vk.ErrOutOfDeviceMemory)
	}
	if !s.window.Mapped() {
		if s.windowUpload = buffer(ring, true); s.windowUpload == nil {
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

// slotRange is where ring slot i lies in b, the window or its upload
// buffer.
func (s *DeviceSet) slotRange(b *vk.Buffer, i int) vk.Range {
	return vk.Range{Buf: b, Offset: int64(i) * s.slotBytes, Size: s.batchBytes}
}

// run runs the step's recording and waits for it. A streamed set's
// batch, order, comes from the slot of its ring that holds it, and while
// the device runs, the batches ahead are copied into the others.
func (n *Net) run(set *DeviceSet, mode Mode, warp augment.Sampling, order []uint32, ahead [][]int) error {
	slot := 0
	if set.Streamed() {
		var err error
		if slot, err = set.take(order); err != nil {
			return err
		}
	}
	rec, err := n.recording(set, mode, warp, slot)
	if err != nil {
		return err
	}
	if err := rec.Start(); err != nil {
		return err
	}
	n.last = rec
	var gathered error
	if set.Streamed() {
		gathered = n.gatherAhead(set, ahead, slot)
	}
	return errors.Join(rec.Wait(), gathered)
}

// take returns the ring slot that holds the batch of order: gathered
// while an earlier step ran, else gathered now.
func (s *DeviceSet) take(order []uint32) (int, error) {
	if i := s.holds(order); i >= 0 {
		return i, nil
	}
	return 0, s.gather(0, order)
}

// gatherAhead copies the batches of the steps to come, the samples
// ahead, into the ring's slots other than busy, the one the running step
// reads, as many as they hold.
func (n *Net) gatherAhead(set *DeviceSet, samples [][]int, busy int) error {
	var ahead [][]uint32
	for _, indices := range samples[:min(len(samples), ringSlots-1)] {
		order, err := n.batchOrder(set, indices)
		if err != nil {
			return err
		}
		ahead = append(ahead, order)
	}
	for _, order := range ahead {
		if set.holds(order) >= 0 {
			continue
		}
		// A slot neither running nor holding a batch to come; there is
		// one, as the ring has a slot for each.
		free := -1
		for i, h := range set.held {
			if i != busy && !slices.ContainsFunc(ahead, func(a []uint32) bool { return slices.Equal(h, a) }) {
				free = i
				break
			}
		}
		if err := set.gather(free, order); err != nil {
			return err
		}
	}
	return nil
}

// holds is the ring slot that holds the batch of order (-1: none).
func (s *DeviceSet) holds(order []uint32) int {
	return slices.IndexFunc(s.held[:], func(h []uint32) bool { return slices.Equal(h, order) })
}

// gather copies the images of order, a step's samples, into ring slot i
// (of the window, or of its upload buffer, which the step's recording
// copies over).
func (s *DeviceSet) gather(i int, order []uint32) error {
	dst := s.window
	if s.windowUpload != nil {
		dst = s.windowUpload
	}
	s.held[i] = nil
	size := int(s.batchBytes) / len(order)
	at := int64(i) * s.slotBytes
	for k, idx := range order {
		if err := dst.Write(at+int64(k*size), s.host[int(idx)*size:(int(idx)+1)*size]); err != nil {
			return err
		}
	}
	s.held[i] = slices.Clone(order)
	return nil
}

// batchesAhead are the samples of the steps from next on (those a ring
// can hold ahead), of steps steps that take order batch by batch.
func batchesAhead(order []int, batch, next, steps int) [][]int {
	var out [][]int
	for k := next; k < min(steps, next+ringSlots-1); k++ {
		out = append(out, order[k*batch:min((k+1)*batch, len(order))])
	}
	return out
}

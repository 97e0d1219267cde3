package nn

import (
	"fmt"
	"time"

	"github.com/vkcnn/vkcnn/augment"
	"github.com/vkcnn/vkcnn/vk"
)

// KernelTime is the device time of one part of a step, with the
// floating-point operations it does (GEMM-shaped parts) or the bytes it
// reads and writes (the others).
type KernelTime struct {
	Label        string
	Time         time.Duration
	FLOPs, Bytes float64
}

// Profile runs one step of mode on set with a timestamp after every
// layer's kernels and returns the device time of each part and of the
// whole step.
func (n *Net) Profile(set *DeviceSet, mode Mode, v Feed) ([]KernelTime, time.Duration, error) {
	if !n.ctx.Info.Timestamps {
		return nil, 0, vk.ErrNoTimestamps
	}
	n.profile = true
	if n.marks == nil {
		n.marks = map[*vk.Recording][]KernelTime{}
	}
	defer func() { n.profile = false }()
	if err := n.Step(set, mode, augment.Sampling{}, v); err != nil {
		return nil, 0, err
	}
	rec := n.last
	// Timestamp 0 opens the step; mark i's timestamp is i+1.
	var parts []KernelTime
	for i, part := range n.marks[rec] {
		d, err := rec.Elapsed(i, i+1)
		if err != nil {
			return nil, 0, err
		}
		part.Time = d
		parts = append(parts, part)
	}
	total, err := n.StepDeviceTime()
	if err != nil {
		return nil, 0, fmt.Errorf("profile: %w", err)
	}
	return parts, total, nil
}

// DeviceBytes is the device memory the network's buffers take.
func (n *Net) DeviceBytes() int64 {
	var total int64
	for _, b := range n.owned {
		if !b.Host() {
			total += (b.Size() + 15) &^ 15 // as vk allocates
		}
	}
	return total
}

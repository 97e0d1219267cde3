package vkcnn

import (
	"errors"
	"fmt"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/vk"
)

// The classes of failure a caller may act on, matched with errors.Is. The
// vkcnn command ends with a status of its own for the first three
// (75 for a lost or hung device, which a scheduler may retry elsewhere;
// 3 where memory ran out or a network does not fit, where a smaller batch
// may) and 1 for bad input.
var (
	// ErrDeviceLost: the device was lost (a driver reset, a GPU fault).
	ErrDeviceLost = vk.ErrDeviceLost
	// ErrHang: work did not finish within the device's watchdog; the
	// error is a *vk.HangError, which says what and how long.
	ErrHang = vk.ErrHang
	// ErrOutOfDeviceMemory: an allocation failed, or the network at its
	// batch size does not fit the device's memory.
	ErrOutOfDeviceMemory = vk.ErrOutOfDeviceMemory
	// ErrOutOfHostMemory: the driver ran out of host memory.
	ErrOutOfHostMemory = vk.ErrOutOfHostMemory
	// ErrBadInput: what the caller gave cannot be used: a folder that is
	// not a run, an image that cannot be decoded or is too large, values
	// of the wrong shape.
	ErrBadInput = errors.New("bad input")
)

// inputError is a failure caused by what the caller gave: its words are
// the cause's, and it matches ErrBadInput.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrBadInput }

// badInput marks err (nil stays nil) as the caller's input's fault.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}

// ErrStopped: a callback or the context stopped the run; its checkpoint
// is written and Resume continues it.
var ErrStopped = nn.ErrStopped

// StoppedError is the error of a run that a callback or the context
// stopped: its checkpoint is written in Dir. It matches ErrStopped.
type StoppedError struct{ Dir string }

func (e *StoppedError) Error() string {
	return fmt.Sprintf("training stopped: checkpoint written; continue with vkcnn train --resume %s", e.Dir)
}

func (e *StoppedError) Is(target error) bool { return target == ErrStopped }

// ErrFinished: Resume found the run finished (its epochs done, or
// stopped early), and had nothing to do.
var ErrFinished = errors.New("the run is finished")

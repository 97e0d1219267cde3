package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// exitError is an error with its own exit status.
type exitError struct {
	status int
	err    error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// stopper turns the first SIGINT or SIGTERM into a request to stop at the
// next step; a second one ends the process at once.
type stopper struct {
	signals chan os.Signal
	stop    atomic.Bool
	// ctx is cancelled by the request to stop: the library's training
	// stops on it.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	nested int // interrupts calls within the first, not yet released
}

// active is the process's stopper while a command holds one: a command
// that runs others (reproduce runs train) shares it with them, so that a
// request to stop that a run honours also ends the loop around it.
var active *stopper

func interrupts() *stopper {
	if active != nil {
		active.nested++
		return active
	}
	s := &stopper{signals: make(chan os.Signal, 2), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	active = s
	signal.Notify(s.signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		for {
			select {
			case <-s.signals:
				if s.stop.Swap(true) {
					fmt.Fprintln(os.Stderr, "vkcnn: interrupted again: exiting without a checkpoint")
					os.Exit(130)
				}
				s.cancel()
				fmt.Fprintln(os.Stderr, "vkcnn: stopping after this step (interrupt again to quit at once)")
			case <-s.done:
				return
			}
		}
	}()
	return s
}

func (s *stopper) requested() bool { return s.stop.Load() }

// request asks to stop at the next step, as the first signal does.
func (s *stopper) request() {
	s.stop.Store(true)
	s.cancel()
}

func (s *stopper) release() {
	if s.nested > 0 {
		s.nested--
		return
	}
	signal.Stop(s.signals)
	s.cancel()
	close(s.done)
	active = nil
}

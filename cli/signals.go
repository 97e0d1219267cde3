package cli

import (
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
	done    chan struct{}
}

func interrupts() *stopper {
	s := &stopper{signals: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(s.signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		for {
			select {
			case <-s.signals:
				if s.stop.Swap(true) {
					fmt.Fprintln(os.Stderr, "vkcnn: interrupted again: exiting without a checkpoint")
					os.Exit(130)
				}
				fmt.Fprintln(os.Stderr, "vkcnn: stopping after this step (interrupt again to quit at once)")
			case <-s.done:
				return
			}
		}
	}()
	return s
}

func (s *stopper) requested() bool { return s.stop.Load() }

func (s *stopper) release() {
	signal.Stop(s.signals)
	close(s.done)
}

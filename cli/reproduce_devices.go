package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"

	"github.com/urfave/cli/v2"
)

// trainOnDevices trains runs at once, one on each of r.devices, each in a
// vkcnn train process of its own whose lines it prints behind the run's
// name; every run writes only its own folder (reproduce writes the report
// when all have ended). A device whose run fails takes no more.
// Ctrl-C reaches the runs as it reaches this process (they share its
// process group): each stops after its step with a checkpoint, and no
// run starts after it.
func (r *reproduction) trainOnDevices(c *cli.Context, todo []pendingRun, stop *stopper) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--devices: %w", err)
	}
	var (
		mu          sync.Mutex // the output, next, errs and interrupted
		next        int
		errs        []error
		interrupted bool
		wg          sync.WaitGroup
	)
	out := &lockedWriter{mu: &mu, w: c.App.Writer}
	errOut := &lockedWriter{mu: &mu, w: c.App.ErrWriter}
	take := func() (pendingRun, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next == len(todo) || stop.requested() || interrupted || len(errs) > 0 && !r.keepGoing {
			return pendingRun{}, false
		}
		next++
		return todo[next-1], true
	}
	for _, device := range r.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for run, ok := take(); ok; run, ok = take() {
				dir := r.dir(run.seedRun)
				mu.Lock()
				run.start(c.App.Writer, len(r.runs), dir, device)
				mu.Unlock()
				prefix := "[" + run.String() + "] "
				args := r.trainArgs(run.seedRun, run.resume, device)
				cmd := exec.Command(exe, args[1:]...)
				cmd.Stdout, cmd.Stderr = &prefixWriter{prefix: prefix, w: out}, &prefixWriter{prefix: prefix, w: errOut}
				err := cmd.Run()
				cmd.Stdout.(*prefixWriter).flush()
				cmd.Stderr.(*prefixWriter).flush()
				if err == nil {
					continue
				}
				mu.Lock()
				var exit *exec.ExitError
				if errors.As(err, &exit) && exit.ExitCode() == statusInterrupted {
					interrupted = true
				} else {
					// The run's own line is above, prefixed; its status
					// (a lost device's, say) is the reproduction's.
					failure := fmt.Errorf("%s on device %s: %w", run, device, err)
					if exit != nil {
						failure = exitError{status: exit.ExitCode(), err: failure}
					}
					errs = append(errs, failure)
				}
				mu.Unlock()
				if !r.keepGoing || interrupted {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if interrupted || stop.requested() && next < len(todo) {
		return r.interrupted()
	}
	return nil
}

// lockedWriter writes under a lock shared with other writers.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes whole lines, each behind prefix; flush writes a
// last line without its newline.
type prefixWriter struct {
	prefix string
	w      io.Writer
	line   []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.line = append(p.line, b...)
	for {
		i := bytes.IndexByte(p.line, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := p.w.Write(append([]byte(p.prefix), p.line[:i+1]...)); err != nil {
			return len(b), err
		}
		p.line = p.line[i+1:]
	}
}

func (p *prefixWriter) flush() {
	if len(p.line) > 0 {
		p.w.Write(append(append([]byte(p.prefix), p.line...), '\n'))
		p.line = nil
	}
}

//go:build faultinject

package faults

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// fault is the parsed VKCNN_FAULT.
type fault struct {
	point, file string
	n           int
	action      Action
}

var (
	once   sync.Once
	wanted *fault
	mu     sync.Mutex
	calls  int
)

var actions = map[string]Action{"lost": Lost, "hang": Hang, "oom": OOM, "nospace": NoSpace, "eio": IOError, "kill": Kill}

// parse reads VKCNN_FAULT; a malformed one is a test's mistake, so it
// stops the process with the reason.
func parse(s string) *fault {
	if s == "" {
		return nil
	}
	f := strings.Split(s, ":")
	if len(f) < 3 || len(f) > 4 {
		panic(fmt.Sprintf("%s=%q: want POINT:N:ACTION[:FILE]", Env, s))
	}
	n, err := strconv.Atoi(f[1])
	action, ok := actions[f[2]]
	if err != nil || n < 1 || !ok {
		panic(fmt.Sprintf("%s=%q: want a count from 1 and an action of lost, hang, oom, nospace, eio, kill", Env, s))
	}
	w := &fault{point: f[0], n: n, action: action}
	if len(f) == 4 {
		w.file = f[3]
	}
	return w
}

// At counts the calls of the fault's point (and file) and returns its
// action at the Nth; Kill kills the process at once.
func At(point, file string) Action {
	once.Do(func() { wanted = parse(os.Getenv(Env)) })
	if wanted == nil || point != wanted.point || (wanted.file != "" && file != wanted.file) {
		return None
	}
	mu.Lock()
	calls++
	hit := calls == wanted.n
	mu.Unlock()
	if !hit {
		return None
	}
	if wanted.action == Kill {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal arrives
	}
	return wanted.action
}

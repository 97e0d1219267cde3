package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/vkcnn/vkcnn/report"
	"github.com/vkcnn/vkcnn/runfolder"
)

// readRun reads a run folder's history and training log for a figure. A
// run has at least one of them: one stopped in its first epoch has only
// the log, one from before logs only the history.
func readRun(dir string) (report.Run, error) {
	r := report.Run{Name: filepath.Base(filepath.Clean(dir))}
	var errHistory, errSteps error
	r.Epochs, errHistory = runfolder.ReadHistory(dir)
	r.Steps, errSteps = runfolder.ReadSteps(dir)
	switch {
	case errHistory == nil && (errSteps == nil || errors.Is(errSteps, fs.ErrNotExist)):
		return r, nil
	case errors.Is(errHistory, fs.ErrNotExist) && errSteps == nil:
		return r, nil
	case errHistory != nil && !errors.Is(errHistory, fs.ErrNotExist):
		return r, errHistory
	case errSteps != nil && !errors.Is(errSteps, fs.ErrNotExist):
		return r, errSteps
	}
	return r, fmt.Errorf("%s: no %s or %s (not a run folder, or one whose first epoch has not begun)", dir, runfolder.HistoryFile, runfolder.StepsFile)
}

// Package nodetest finds, for tests, the Node.js tools under tools/ that
// run models in another framework.
package nodetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir is the folder of tools/<tool>, seen from a package's folder one
// level below the repository's root, where Node.js and the tool's module
// (a path under its node_modules) are installed; elsewhere the test is
// skipped.
func Dir(t testing.TB, tool, module string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "tools", tool))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", module)); err != nil {
		t.Skipf("%s is not installed in %s (npm ci there)", module, dir)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on PATH")
	}
	return dir
}

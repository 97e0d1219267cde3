// Package usercache names vkcnn's files in the user's cache folder, each
// of which an environment variable can move.
package usercache

import (
	"fmt"
	"os"
	"path/filepath"
)

// Path is $env when set, else vkcnn/name in the user's cache folder
// (~/.cache on Linux). what says what the path holds, for the error.
func Path(env, name, what string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for %s (set %s): %w", what, env, err)
	}
	return filepath.Join(dir, "vkcnn", name), nil
}

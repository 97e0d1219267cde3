// Package shaders holds vkcnn's GLSL compute shaders and their SPIR-V,
// compiled by `build.sh shaders` and embedded here.
package shaders

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed *.spv
var spirv embed.FS

// SPIRV returns the compiled shader name (without extension).
func SPIRV(name string) ([]byte, error) {
	code, err := spirv.ReadFile(name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shader %s: not built (run ./build.sh shaders): %w", name, err)
	}
	return code, nil
}

// SetHash names this set of compiled shaders: the first 12 hex digits of
// a SHA-256 over every .spv's name and contents. A pipeline cache made for
// one set is not loaded for another.
func SetHash() string {
	names, err := fs.Glob(spirv, "*.spv")
	if err != nil {
		panic(err) // a constant pattern
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		code, _ := spirv.ReadFile(name)
		fmt.Fprintf(h, "%s %d\n", name, len(code))
		h.Write(code)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

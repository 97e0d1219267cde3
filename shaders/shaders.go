// Package shaders holds vkcnn's GLSL compute shaders and their SPIR-V,
// compiled by `build.sh shaders` and embedded here.
package shaders

import (
	"embed"
	"fmt"
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

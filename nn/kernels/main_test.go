package kernels

import (
	"os"
	"testing"
)

// The kernel tests run lavapipe's fp16 matrices where it has them (Mesa 26:
// ./build.sh lavapipe), the emulation where not (fp16OnCPU).
func TestMain(m *testing.M) {
	fp16OnCPU = true
	os.Exit(m.Run())
}

package kernels

import (
	"testing"

	"vkcnn/vk"
)

// h100 is what vkcnn devices reported for the H100 lent to the project.
var h100 = vk.DeviceInfo{Type: "discrete GPU", ComputeUnits: 132, SharedMemoryBytes: 48 << 10,
	MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, SubgroupSize: 32}

var lavapipe = vk.DeviceInfo{Type: "CPU", SharedMemoryBytes: 32 << 10, MaxWorkgroupInvocations: 1024,
	MaxWorkgroupSize: [3]uint32{1024, 1024, 1024}, SubgroupSize: 8, SubgroupOps: []string{"basic", "ballot"}}

// TestDefaultChoices checks the built-in choices for the standard model's
// products at batch 64: the large warp tile on a GPU, its sum over k split
// where its tiles alone would leave most of 132 multiprocessors idle;
// subgroup kernels, never split, on lavapipe.
func TestDefaultChoices(t *testing.T) {
	for _, tc := range []struct {
		name    string
		info    vk.DeviceInfo
		g       Gemm
		variant string
		split   int
	}{
		{"conv2 forward", h100, Gemm{M: 64 * 28 * 28, N: 256, K: 6400}, "warp128", 1},
		{"conv2 backward-filter", h100, Gemm{M: 6400, N: 256, K: 64 * 28 * 28}, "warp128", 3},
		{"dense_1 forward", h100, Gemm{M: 64, N: 328, K: 100352}, "warp128", 88},
		{"dense_1 input gradient", h100, Gemm{M: 64, N: 100352, K: 328}, "warp128", 1},
		{"dense_2 forward", h100, Gemm{M: 64, N: 192, K: 328}, "warp128", 1},
		{"an unknown GPU", vk.DeviceInfo{Type: "discrete GPU", SharedMemoryBytes: 48 << 10, MaxWorkgroupInvocations: 1024,
			MaxWorkgroupSize: [3]uint32{1024, 1024, 64}}, Gemm{M: 64, N: 328, K: 100352}, "warp128", 22},
		{"conv2 forward on lavapipe", lavapipe, Gemm{M: 8 * 28 * 28, N: 256, K: 6400}, "subgroup64", 1},
		{"dense_1 forward on lavapipe", lavapipe, Gemm{M: 64, N: 328, K: 100352}, "subgroup16", 1},
	} {
		v := DefaultGemmVariant(tc.info, tc.g.M, tc.g.N)
		tc.g.Variant = v
		if split := DefaultSplit(tc.info, tc.g); v.Name != tc.variant || split != tc.split {
			t.Errorf("%s: %s split %d, want %s split %d", tc.name, v.Name, split, tc.variant, tc.split)
		}
	}
}

// TestVariantsAreConsistent checks what the shaders assume of the
// constants: whole warp tiles and register blocks, and the fixed register
// arrays of warp_tile.glsl (MAX_VECS, MAX_BLOCKS) never exceeded.
func TestVariantsAreConsistent(t *testing.T) {
	for _, v := range GemmVariants {
		if v.Style != Warp {
			continue
		}
		wg := v.workgroup()
		if v.BM%v.WM != 0 || v.BN%v.WN != 0 || v.WM%(4*v.WMIter) != 0 || v.WN%(4*v.WNIter) != 0 {
			t.Errorf("%s: warp tiles or register blocks do not divide the tile", v.Name)
		}
		aVecs, bVecs := v.BM*v.BK/4, v.BN*v.BK/4
		if aVecs%wg != 0 || bVecs%wg != 0 || aVecs/wg > 4 || bVecs/wg > 4 || aVecs/wg == 0 || bVecs/wg == 0 {
			t.Errorf("%s: %d and %d vec4s of A and B over %d invocations: each must fetch 1 to 4", v.Name, aVecs, bVecs, wg)
		}
		if v.WMIter > 4 || v.WNIter > 4 || v.BK%4 != 0 || 64%v.BK != 0 {
			t.Errorf("%s: register blocks %dx%d or depth %d outside what the shader holds", v.Name, v.WMIter, v.WNIter, v.BK)
		}
	}
}

// TestUsableRefusesTilesTheShaderCannotHold checks the subgroup shader's
// own limits, whatever the device.
func TestUsableRefusesTilesTheShaderCannotHold(t *testing.T) {
	for _, v := range []GemmVariant{
		{Name: "tall", Style: Subgroup, Rows: 72, Cols: 64},
		{Name: "odd", Style: Subgroup, Rows: 12, Cols: 64},
		{Name: "wide", Style: Subgroup, Rows: 16, Cols: 48},
	} {
		if v.Usable(lavapipe) == nil {
			t.Errorf("%s (%dx%d) usable", v.Name, v.Rows, v.Cols)
		}
	}
	for _, v := range GemmVariants {
		if err := v.Usable(lavapipe); v.Style == Subgroup && err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
}

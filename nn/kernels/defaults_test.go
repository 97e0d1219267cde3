package kernels

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
		if ch := Default(tc.info, tc.g); ch.Variant.Name != tc.variant || ch.Split != tc.split {
			t.Errorf("%s: %s, want %s split %d", tc.name, ch, tc.variant, tc.split)
		}
	}
}

// TestCheckRefusesWhatTheKernelsCannotDo checks the shapes the warp
// kernels refuse, the splits only they make of plain GEMMs, and that the
// others take the rest.
func TestCheckRefusesWhatTheKernelsCannotDo(t *testing.T) {
	conv1 := Conv{Batch: 64, H: 28, W: 28, Cin: 1, Cout: 256, KH: 5, KW: 5}
	conv2 := Conv{Batch: 64, H: 28, W: 28, Cin: 256, Cout: 256, KH: 5, KW: 5}
	for _, tc := range []struct {
		choice string
		p      Product
		why    string // "" where it runs
	}{
		{"warp128", ConvProduct{Conv: conv1}, "Cin 1"},
		{"warp128", ConvProduct{Conv: conv2, Pass: ConvBackwardFilter}, ""},
		{"warp128", Gemm{M: 64, N: 10, K: 192}, "N 10"},
		{"warp128", Gemm{M: 6, N: 12, K: 192, TransA: true}, "M 6"},
		{"warp128", Gemm{M: 6, N: 12, K: 192}, ""},
		{"warp128", Gemm{M: 8, N: 12, K: 10, TransB: true}, "K 10"},
		{"warp64", ConvProduct{Conv: conv2}, "plain products only"},
		{"warp64", Gemm{M: 64, N: 328, K: 100352}, ""},
		{"tiled64", ConvProduct{Conv: conv1}, ""},
		{"tiled64", Gemm{M: 64, N: 10, K: 192}, ""},
		{"warp64 split 44", Gemm{M: 64, N: 328, K: 100352}, ""},
		{"tiled64 split 2", Gemm{M: 64, N: 328, K: 100352}, "cannot split"},
		{"warp128 split 2", ConvProduct{Conv: conv2, Pass: ConvBackwardFilter}, "cannot split"},
	} {
		ch, err := ParseChoice(tc.choice)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(h100, tc.p, ch)
		if tc.why == "" && err != nil || tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)) {
			t.Errorf("%s on %s: %v, want an error saying %q (none if empty)", tc.choice, tc.p.Key(), err, tc.why)
		}
	}
	// Where warp128 cannot, a GPU runs the product tiled.
	if ch := Default(h100, ConvProduct{Conv: conv1}); ch.String() != "tiled64" {
		t.Errorf("conv2d_1 on an H100: %s, want tiled64", ch)
	}
}

// TestChoicesAreWhatCheckAllows checks the tuner's candidates for the
// standard model's products on an H100 and lavapipe: the default first,
// each once, each one Check allows, and every variant Check allows among
// them.
func TestChoicesAreWhatCheckAllows(t *testing.T) {
	conv := Conv{Batch: 64, H: 28, W: 28, Cin: 256, Cout: 256, KH: 5, KW: 5}
	for _, info := range []vk.DeviceInfo{h100, lavapipe} {
		for _, p := range []Product{Gemm{M: 64, N: 328, K: 100352, Bias: true}, Gemm{M: 64, N: 10, K: 192},
			ConvProduct{Conv: conv}, ConvProduct{Conv: conv, Pass: ConvBackwardFilter}} {
			choices := Choices(info, p)
			if choices[0] != Default(info, p) {
				t.Errorf("%s on %s: %s first, not the default %s", p.Key(), info.Type, choices[0], Default(info, p))
			}
			for i, ch := range choices {
				if err := Check(info, p, ch); err != nil || slices.Index(choices, ch) != i {
					t.Errorf("%s on %s: choice %s at %d: %v", p.Key(), info.Type, ch, i, err)
				}
			}
			for _, v := range GemmVariants {
				runs := Check(info, p, Choice{Variant: v, Split: 1}) == nil
				listed := slices.ContainsFunc(choices, func(ch Choice) bool { return ch.Variant.Name == v.Name })
				if runs != listed {
					t.Errorf("%s on %s: %s runs it %v, listed %v", p.Key(), info.Type, v.Name, runs, listed)
				}
			}
		}
	}
}

func TestParseWarpVariant(t *testing.T) {
	v, err := ParseWarpVariant("128x128x16/64x32/2x2")
	if want, _ := GemmVariantByName("warp128"); err != nil || v.BM != want.BM || v.BN != want.BN || v.BK != want.BK ||
		v.WM != want.WM || v.WN != want.WN || v.WMIter != want.WMIter || v.WNIter != want.WNIter || v.Style != Warp {
		t.Errorf("128x128x16/64x32/2x2: %+v, %v", v, err)
	}
	for _, bad := range []string{"", "128x128x16", "128x128x16/64x32/2x2x", "128x128x16/64x32/2x2 ", "a/b/c"} {
		if _, err := ParseWarpVariant(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestWarpLimitsMatchTheShader checks that the Go side's limits on warp
// tiles are warp_tile.glsl's register arrays and loop bound.
func TestWarpLimitsMatchTheShader(t *testing.T) {
	text, err := os.ReadFile("../../shaders/warp_tile.glsl")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"MAX_VECS": warpMaxVecs, "MAX_BLOCKS": warpMaxBlocks, "MAX_KUNROLL": warpMaxDepth} {
		m := regexp.MustCompile(`const uint ` + name + ` = (\d+);`).FindSubmatch(text)
		if m == nil || string(m[1]) != strconv.Itoa(want) {
			t.Errorf("warp_tile.glsl: %s is %q, the Go side says %d", name, m, want)
		}
	}
}

// TestUsableRefusesTilesTheShaderCannotHold checks the subgroup and warp
// shaders' own limits, on a device that could run them otherwise.
func TestUsableRefusesTilesTheShaderCannotHold(t *testing.T) {
	for _, tc := range []struct {
		v    GemmVariant
		info vk.DeviceInfo
		why  string
	}{
		{GemmVariant{Name: "tall", Style: Subgroup, Rows: 72, Cols: 64}, lavapipe, "8 to 64 rows"},
		{GemmVariant{Name: "odd", Style: Subgroup, Rows: 12, Cols: 64}, lavapipe, "8 to 64 rows"},
		{GemmVariant{Name: "wide", Style: Subgroup, Rows: 16, Cols: 48}, lavapipe, "32 or 64 columns"},
		{GemmVariant{Name: "ragged", Style: Warp, BM: 128, BN: 128, BK: 16, WM: 48, WN: 32, WMIter: 2, WNIter: 2}, h100, "do not divide"},
		{GemmVariant{Name: "five blocks", Style: Warp, BM: 160, BN: 32, BK: 16, WM: 160, WN: 32, WMIter: 5, WNIter: 1}, h100, "holds up to 4x4"},
		{GemmVariant{Name: "deep", Style: Warp, BM: 32, BN: 32, BK: 64, WM: 32, WN: 32, WMIter: 2, WNIter: 2}, h100, "a depth of 64"},
		{GemmVariant{Name: "many fetches", Style: Warp, BM: 128, BN: 64, BK: 32, WM: 128, WN: 64, WMIter: 4, WNIter: 4}, h100, "each must fetch 1 to 4"},
	} {
		if err := tc.v.usable(tc.info); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want an error saying %q", tc.v.Name, err, tc.why)
		}
	}
	for _, v := range GemmVariants {
		if err := v.usable(lavapipe); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
}

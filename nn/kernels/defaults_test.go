package kernels

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/vk"
)

// h100 is what vkcnn devices reported for the H100 lent to the project.
var h100 = vk.DeviceInfo{Type: "discrete GPU", ComputeUnits: 132, SharedMemoryBytes: 48 << 10,
	MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, SubgroupSize: 32,
	MinSubgroupSize: 32, MaxSubgroupSize: 32, MaxWorkgroupSubgroups: 32}

var lavapipe = vk.DeviceInfo{Type: "CPU", SharedMemoryBytes: 32 << 10, MaxWorkgroupInvocations: 1024,
	MaxWorkgroupSize: [3]uint32{1024, 1024, 1024}, SubgroupSize: 8, SubgroupOps: []string{"basic", "ballot"},
	MinSubgroupSize: 8, MaxSubgroupSize: 8, MaxWorkgroupSubgroups: 32}

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
		if ch := Default(tc.info, tc.g, FP32); ch.Variant.Name != tc.variant || ch.Split != tc.split {
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
	if ch := Default(h100, ConvProduct{Conv: conv1}, FP32); ch.String() != "tiled64" {
		t.Errorf("conv2d_1 on an H100: %s, want tiled64", ch)
	}
}

// TestChoicesAreWhatCheckAllows checks the tuner's candidates for the
// standard model's products on an H100 with bf16 matrices and lavapipe at
// each precision: the default first, each once, each one Check allows,
// and every variant Check allows at the default's precision among them.
func TestChoicesAreWhatCheckAllows(t *testing.T) {
	conv := Conv{Batch: 64, H: 28, W: 28, Cin: 256, Cout: 256, KH: 5, KW: 5}
	for _, info := range []vk.DeviceInfo{h100bf16, lavapipe} {
		for _, prec := range Precisions {
			for _, p := range []Product{Gemm{M: 64, N: 328, K: 100352, Bias: true}, Gemm{M: 64, N: 10, K: 192},
				ConvProduct{Conv: conv}, ConvProduct{Conv: conv, Pass: ConvBackwardFilter}} {
				choices := Choices(info, p, prec)
				def := Default(info, p, prec)
				if choices[0] != def {
					t.Errorf("%s on %s at %s: %s first, not the default %s", p.Key(), info.Type, prec, choices[0], def)
				}
				for i, ch := range choices {
					if err := Check(info, p, ch); err != nil || slices.Index(choices, ch) != i || ch.Precision != def.Precision {
						t.Errorf("%s on %s at %s: choice %s at %d: %v", p.Key(), info.Type, prec, ch, i, err)
					}
				}
				for _, v := range GemmVariants {
					runs := Check(info, p, Choice{Variant: v, Split: 1, Precision: def.Precision}) == nil
					listed := slices.ContainsFunc(choices, func(ch Choice) bool { return ch.Variant.Name == v.Name })
					if runs != listed {
						t.Errorf("%s on %s at %s: %s runs it %v, listed %v", p.Key(), info.Type, prec, v.Name, runs, listed)
					}
				}
			}
		}
	}
}

// h100bf16 is the H100 with the cooperative matrices NVIDIA's driver
// offers with VK_KHR_shader_bfloat16 (bf16 16x16x16 and 16x8x16).
var h100bf16 = func() vk.DeviceInfo {
	info := h100
	info.Name, info.Bfloat16 = "H100", true
	info.CooperativeMatrices = []vk.MatrixShape{
		{M: 16, N: 8, K: 16, A: "float16", B: "float16", C: "float32", Result: "float32", Scope: "subgroup"},
		{M: 16, N: 8, K: 16, A: "bfloat16", B: "bfloat16", C: "float32", Result: "float32", Scope: "subgroup"},
		{M: 16, N: 16, K: 16, A: "bfloat16", B: "bfloat16", C: "float32", Result: "float32", Scope: "subgroup"},
	}
	return info
}()

// navi31 is RADV's RDNA3: fp16 matrices, no bf16 (Mesa 25).
var navi31 = vk.DeviceInfo{Name: "AMD Radeon RX 7900 XTX (RADV NAVI31)", Type: "discrete GPU", SharedMemoryBytes: 64 << 10,
	MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 1024}, SubgroupSize: 32,
	MinSubgroupSize: 32, MaxSubgroupSize: 64, MaxWorkgroupSubgroups: 1024,
	CooperativeMatrices: []vk.MatrixShape{
		{M: 16, N: 16, K: 16, A: "float16", B: "float16", C: "float16", Result: "float16", Scope: "subgroup"},
		{M: 16, N: 16, K: 16, A: "float16", B: "float16", C: "float32", Result: "float32", Scope: "subgroup"},
	}}

// TestPrecisionChoices checks where each precision runs: the matrix
// variants at bf16 and bf16x3 on a GPU with bf16 matrices (16x16x16 of
// those offered) and, emulated, on lavapipe, products whose lengths are
// not multiples of 4 at fp32 as before, and a GPU with fp16 matrices
// alone refused in one line that names what it offers.
func TestPrecisionChoices(t *testing.T) {
	conv1 := ConvProduct{Conv: Conv{Batch: 64, H: 28, W: 28, Cin: 1, Cout: 256, KH: 5, KW: 5}}
	conv2 := ConvProduct{Conv: Conv{Batch: 64, H: 28, W: 28, Cin: 256, Cout: 256, KH: 5, KW: 5}}
	for _, tc := range []struct {
		info vk.DeviceInfo
		prec Precision
		p    Product
		want string
	}{
		{h100bf16, BF16, conv2, "coopmat128 bf16"},
		{h100bf16, BF16x3, conv2, "coopmat128 bf16x3"},
		{h100bf16, FP32, conv2, "warp128"},
		{h100bf16, BF16, conv1, "tiled64"},
		{h100bf16, BF16x3, Gemm{M: 64, N: 10, K: 192}, "tiled64"},
		// 64 rows: the 64-row tile, split to give 132 multiprocessors two
		// workgroups each.
		{h100bf16, BF16, Gemm{M: 64, N: 328, K: 100352}, "coopmat64 bf16 split 44"},
		{h100bf16, BF16, ConvProduct{Conv: Conv{Batch: 32, H: 14, W: 14, Cin: 32, Cout: 64, KH: 5, KW: 5}}, "coopmat64 bf16"},
		{lavapipe, BF16, conv2, "coopmat128 bf16"},
		// 45 KiB of shared memory at bf16x3: past lavapipe's 32.
		{lavapipe, BF16x3, conv2, "coopmat64 bf16x3"},
		{lavapipe, BF16, conv1, "subgroup64"},
	} {
		if got := Default(tc.info, tc.p, tc.prec); got.String() != tc.want {
			t.Errorf("%s on %s at %s: %s, want %s", tc.p.Key(), tc.info.Type, tc.prec, got, tc.want)
		}
	}
	if inst, err := instance(h100bf16); err != nil || inst.tn != 16 || inst.suffix != "bf16" {
		t.Errorf("H100: %+v, %v; want bf16 fragments of 16x16x16", inst, err)
	}
	err := CheckPrecision(navi31, BF16)
	if err == nil || !strings.Contains(err.Error(), "16x16x16 float16*float16+float32->float32 (subgroup)") || !strings.Contains(err.Error(), "without VK_KHR_shader_bfloat16") {
		t.Errorf("bf16 on navi31: %v, want a refusal naming its fp16 matrices", err)
	}
	if err := CheckPrecision(h100, BF16x3); err == nil || !strings.Contains(err.Error(), "no cooperative matrices") {
		t.Errorf("bf16x3 on a GPU without matrices: %v", err)
	}
	for _, prec := range Precisions {
		if err := CheckPrecision(lavapipe, prec); err != nil {
			t.Errorf("%s on lavapipe: %v", prec, err)
		}
	}
	// What runs a precision runs nothing else.
	for _, tc := range []struct {
		choice string
		why    string
	}{
		{"warp128 bf16", "computes in fp32"},
		{"coopmat128", "not fp32"},
	} {
		ch, err := ParseChoice(tc.choice)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(h100bf16, conv2, ch); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want %q", tc.choice, err, tc.why)
		}
	}
}

func TestParseChoice(t *testing.T) {
	for _, s := range []string{"warp64", "warp64 split 8", "coopmat128 bf16", "coopmat64 bf16x3 split 4"} {
		if ch, err := ParseChoice(s); err != nil || ch.String() != s {
			t.Errorf("%q: %s, %v", s, ch, err)
		}
	}
	for _, s := range []string{"", "warp64 fp32", "warp64 split", "coopmat64 bf16 split 0", "coopmat64 bf17", "warp64 split 2 bf16"} {
		if ch, err := ParseChoice(s); err == nil {
			t.Errorf("%q parsed as %s", s, ch)
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
// and matrix tiles are the shaders' register arrays and loop bounds.
func TestWarpLimitsMatchTheShader(t *testing.T) {
	for file, limits := range map[string]map[string]int{
		"stage_tile.glsl":     {"MAX_VECS": warpMaxVecs},
		"warp_tile.glsl":      {"MAX_BLOCKS": warpMaxBlocks, "MAX_KUNROLL": warpMaxDepth},
		"matrix_body.glsl":    {"MAX_FM": matrixMaxFrags, "MAX_FN": matrixMaxFrags, "MAX_KF": matrixMaxSteps},
		"matrix_emu_ops.glsl": {"MAX_E": emulatedMaxE},
	} {
		text, err := os.ReadFile("../../shaders/" + file)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range limits {
			m := regexp.MustCompile(`const uint ` + name + ` = (\d+);`).FindSubmatch(text)
			if m == nil || string(m[1]) != strconv.Itoa(want) {
				t.Errorf("%s: %s is %q, the Go side says %d", file, name, m, want)
			}
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
		if err := tc.v.usable(tc.info, FP32, false); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want an error saying %q", tc.v.Name, err, tc.why)
		}
	}
	for _, v := range GemmVariants {
		for _, prec := range precisionsOf(v) {
			// bf16x3's two parts and sixteen emulated fragments of C pass
			// lavapipe's 32 KiB in coopmat128 and coopmat64x16.
			if err := v.usable(lavapipe, prec, false); err != nil && !((v.Name == "coopmat128" || v.Name == "coopmat64x16") && prec == BF16x3) {
				t.Errorf("%s at %s: %v", v.Name, prec, err)
			}
		}
	}
}

// TestCheckRefusesSubgroupSizesTheDeviceCannotGive checks that the kernels
// whose results depend on the subgroup size (the subgroup kernels, the
// cooperative matrices) are refused, with the reason, where the device
// cannot be made to run that size with full subgroups, and that the
// others still run there.
func TestCheckRefusesSubgroupSizesTheDeviceCannotGive(t *testing.T) {
	g := Gemm{M: 64, N: 64, K: 64}
	noControl, fourLanes, varying := lavapipe, lavapipe, navi31
	noControl.MinSubgroupSize, noControl.MaxSubgroupSize = 0, 0
	fourLanes.SubgroupSize, fourLanes.MinSubgroupSize, fourLanes.MaxSubgroupSize = 4, 4, 4
	varying.MinSubgroupSize = 0
	h100few := h100bf16
	h100few.MaxWorkgroupSubgroups = 4
	for _, tc := range []struct {
		name string
		info vk.DeviceInfo
		ch   Choice
		why  string
	}{
		{"no size control", noControl, Choice{Variant: variant(t, "subgroup16"), Split: 1}, "cannot require a subgroup size"},
		{"four lanes", fourLanes, Choice{Variant: variant(t, "subgroup64"), Split: 1}, "subgroups of 4 to 4 lanes, not 8"},
		{"RADV without size control", varying, Choice{Variant: variant(t, "coopmat64"), Split: 1, Precision: BF16}, "cannot require a subgroup size"},
		{"too many subgroups", h100few, Choice{Variant: variant(t, "coopmat128"), Split: 1, Precision: BF16}, "not 1 to 4 whole subgroups of 32"},
	} {
		err := check(tc.info, g, tc.ch, true)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s, %s: %v, want an error saying %q", tc.name, tc.ch, err, tc.why)
		}
	}
	for _, info := range []vk.DeviceInfo{noControl, fourLanes} {
		for _, v := range []string{"warp64", "tiled64", "coopmat64"} {
			prec := precisionsOf(variant(t, v))[0]
			if err := Check(info, g, Choice{Variant: variant(t, v), Split: 1, Precision: prec}); err != nil {
				t.Errorf("%s at %d lanes: %v (it depends on no subgroup size)", v, info.SubgroupSize, err)
			}
		}
	}
	if s := g.With(Choice{Variant: variant(t, "subgroup16"), Split: 1}).shader(lavapipe, false); s.subgroup != 8 || s.workgroup != 8 {
		t.Errorf("subgroup16's pipeline requires %d lanes in %d, want 8 in 8", s.subgroup, s.workgroup)
	}
	if s := g.With(Choice{Variant: variant(t, "coopmat128"), Split: 1, Precision: BF16}).shader(h100bf16, false); s.subgroup != 32 || s.workgroup != 256 {
		t.Errorf("coopmat128's pipeline on an H100 requires %d lanes in %d, want 32 in 256", s.subgroup, s.workgroup)
	}
	if s := g.With(Choice{Variant: variant(t, "coopmat128"), Split: 1, Precision: BF16}).shader(lavapipe, false); s.subgroup != 0 {
		t.Errorf("the emulated coopmat128 requires %d lanes; it uses no subgroup", s.subgroup)
	}
}

func variant(t *testing.T, name string) GemmVariant {
	t.Helper()
	v, err := GemmVariantByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

package vk

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/shaders"

	vulkan "github.com/vulkan-go/vulkan"
)

// radvICD is where Debian's mesa-vulkan-drivers puts RADV's manifest.
const radvICD = "/usr/share/vulkan/icd.d/radeon_icd.json"

// useNullHardware points the loader at RADV alone, as the AMD GPU family
// (RADV_FORCE_FAMILY) that RADV then lists as "Null hardware", for the
// rest of the test; it skips where RADV is not installed.
func useNullHardware(t *testing.T, family string) {
	t.Helper()
	if _, err := os.Stat(radvICD); err != nil {
		t.Skipf("RADV is not installed (%s: mesa-vulkan-drivers), so there is no AMD compiler to test with", radvICD)
	}
	t.Setenv("VK_ICD_FILENAMES", radvICD)
	t.Setenv("RADV_FORCE_FAMILY", family)
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	}
}

func TestCountISA(t *testing.T) {
	// Lines in RADV's form: RDNA3 (gfx11) and GCN (gfx9) mnemonics.
	isa := strings.Join([]string{
		"BB0:",
		"\ts_load_b128 s[12:15], s[10:11], 0x30                        ; f4080305 f8000030",
		"\tbuffer_load_b128 v[0:3], v4, s[12:15], 0 offen             ; e05c0000 80430004",
		"\tglobal_load_dwordx4 v[0:3], v[4:5], off                     ; dc5c0000 007f0004",
		"\tbuffer_load_b32 v67, v67, s[12:15], 0 offen offset:448      ; e05001c0 80434343",
		"\tv_fmac_f32_e32 v1, v2, v3                                   ; 56020702",
		"\tv_fma_f32 v1, v2, v3, v4                                    ; d6130001 04120702",
		"\tv_pk_fma_f16 v1, v2, v3, v4                                 ; cc0e4001 1c120702",
		"\tv_dual_mul_f32 v1, v2, v3 :: v_dual_fmac_f32 v4, v5, v6     ; c8c60702 04040b05",
		"\tv_mac_f32_e32 v1, v2, v3                                    ; 2c020702",
		"\tv_mad_u32_u24 v1, v2, v3, v4                                ; d1c30001 04120702",
		"\tv_mul_f32_e32 v1, v2, v3                                    ; 10020702",
		"\tv_wmma_f32_16x16x16_f16 v[32:39], v[106:113], v[64:71], v[32:39] ; cc404020 1c82816a",
		"",
		"BB1:",
		"\ts_endpgm                                                    ; bfb00000",
	}, "\n")
	got := CountISA(isa)
	want := ISACounts{Instructions: 13, FMA: 5, WideLoads: 2, Matrix: 1}
	if got != want {
		t.Fatalf("CountISA = %+v, want %+v", got, want)
	}
}

func TestProblems(t *testing.T) {
	info := DeviceInfo{SharedMemoryBytes: 65536}
	cases := []struct {
		stats []Statistic
		want  string
	}{
		{[]Statistic{{Name: "VGPRs", Value: 256}, {Name: "Spilled VGPRs", Value: 0}, {Name: "Scratch size", Value: 0}, {Name: "LDS size", Value: 65536}}, ""},
		{[]Statistic{{Name: "Spilled VGPRs", Value: 12}}, "Spilled VGPRs: 12"},
		{[]Statistic{{Name: "Spilled SGPRs", Value: 3}}, "Spilled SGPRs: 3"},
		{[]Statistic{{Name: "Scratch size", Value: 65536}, {Name: "Spilled VGPRs", Value: 0}}, "Scratch size: 65536"},
		{[]Statistic{{Name: "LDS size", Value: 65540}}, "LDS size: 65540 bytes, the device has 65536"},
		{nil, ""},
	}
	for _, c := range cases {
		got := strings.Join(Executable{Statistics: c.stats}.Problems(info), "; ")
		if got != c.want {
			t.Errorf("%+v: problems %q, want %q", c.stats, got, c.want)
		}
	}
}

func TestDefaultSkipsDevicesThatCannotRun(t *testing.T) {
	null := DeviceInfo{Index: 0, Name: "Null hardware (RADV NAVI31)", ComputeQueue: true, typeRank: 0}
	lavapipe := DeviceInfo{Index: 1, Name: "llvmpipe (LLVM 15.0.6, 256 bits)", ComputeQueue: true, DeviceLocalBytes: 2 << 30, typeRank: 3}
	noMemory := DeviceInfo{Index: 2, Name: "Some GPU", ComputeQueue: true, typeRank: 0}
	gpu := DeviceInfo{Index: 3, Name: "NVIDIA H100", ComputeQueue: true, DeviceLocalBytes: 80 << 30, typeRank: 0}
	cases := []struct {
		devices []DeviceInfo
		want    int // index of the default, -1 for none
	}{
		{[]DeviceInfo{null, lavapipe}, 1},
		{[]DeviceInfo{noMemory, lavapipe}, 1},
		{[]DeviceInfo{null, lavapipe, noMemory, gpu}, 3},
		{[]DeviceInfo{null}, -1},
	}
	for _, c := range cases {
		markDefault(c.devices)
		d, err := chooseDevice(c.devices, "")
		switch {
		case c.want < 0 && (err == nil || !strings.Contains(err.Error(), "no device can run")):
			t.Errorf("%d devices: chose %q (%v), want an error", len(c.devices), d.Name, err)
		case c.want >= 0 && (err != nil || d.Index != c.want):
			t.Errorf("%d devices: chose %d (%v), want %d", len(c.devices), d.Index, err, c.want)
		}
	}
	// Still usable by name or index.
	if d, err := chooseDevice([]DeviceInfo{null}, "null"); err != nil || d.Index != 0 {
		t.Errorf("choose null hardware by name: %d, %v", d.Index, err)
	}
}

func TestNullHardwareIsNotTheDefault(t *testing.T) {
	if _, err := os.Stat(radvICD); err != nil {
		t.Skipf("RADV is not installed (%s)", radvICD)
	}
	// The loader's own drivers (lavapipe here) and RADV's null hardware.
	t.Setenv("RADV_FORCE_FAMILY", "navi31")
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	}
	devices, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, d := range devices {
		if d.IsNullHardware() {
			listed = true
			if d.Default {
				t.Errorf("%s is the default", d.Name)
			}
		}
	}
	if !listed {
		t.Fatalf("RADV_FORCE_FAMILY=navi31 lists no null hardware among %d devices", len(devices))
	}
}

// compileCopy compiles the copy shader and returns its executables.
func compileCopy(t *testing.T, comp *Compiler) []Executable {
	t.Helper()
	code, err := shaders.SPIRV("copy")
	if err != nil {
		t.Fatal(err)
	}
	exes, err := comp.Compile(KernelSpec{Name: "copy", Code: code, Bindings: []Access{Read, Write}, PushWords: 1, Spec: []uint32{64}})
	if err != nil {
		t.Fatal(err)
	}
	return exes
}

func openCompiler(t *testing.T, device string) *Compiler {
	t.Helper()
	validate, sync := ValidateFromEnv()
	comp, err := OpenCompiler(Options{Device: device, Validate: validate, SyncValidation: sync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := comp.Close(); err != nil {
			t.Error(err)
		}
	})
	return comp
}

func TestCompilerOnNullHardware(t *testing.T) {
	for _, family := range []string{"navi31", "vega10"} {
		t.Run(family, func(t *testing.T) {
			useNullHardware(t, family)
			comp := openCompiler(t, "null hardware")
			if !comp.Info().IsNullHardware() || !strings.Contains(comp.Info().Name, strings.ToUpper(family)) {
				t.Fatalf("opened %s", comp.Info().Name)
			}
			if !comp.Statistics() {
				t.Fatal("RADV offers no pipeline statistics")
			}
			exes := compileCopy(t, comp)
			if len(exes) != 1 {
				t.Fatalf("%d executables, want 1", len(exes))
			}
			vgprs, ok := exes[0].Statistic("VGPRs")
			if !ok || vgprs <= 0 || len(exes[0].Problems(comp.Info())) > 0 {
				t.Errorf("statistics %+v", exes[0].Statistics)
			}
			isa, ok := exes[0].ISA()
			if !ok {
				t.Fatal("no disassembly")
			}
			// The copy kernel moves a vec4 an invocation: one 128-bit load.
			if n := CountISA(isa); n.Instructions < 10 || n.WideLoads != 1 {
				t.Errorf("counts %+v in\n%s", n, isa)
			}
		})
	}
}

func TestCompilerOnTheDefaultDevice(t *testing.T) {
	comp := openCompiler(t, "")
	exes := compileCopy(t, comp)
	if !comp.Statistics() && len(exes) != 0 {
		t.Fatalf("%d executables from a device without statistics", len(exes))
	}
	if _, err := comp.Compile(KernelSpec{Name: "junk", Code: []byte{1, 2, 3, 4}}); err == nil || !strings.Contains(err.Error(), "not SPIR-V") {
		t.Fatalf("compile junk: %v", err)
	}
}

// TestNullHardwareOffersCooperativeMatrices reads RADV navi31's
// cooperative matrices: 16x16x16 products of fp16 into fp32 at subgroup
// scope, and no bf16 (Mesa 25.0). Under a validation layer older than the
// extension they are off, with a warning.
func TestNullHardwareOffersCooperativeMatrices(t *testing.T) {
	useNullHardware(t, "navi31")
	comp, err := OpenCompiler(Options{Device: "null hardware"})
	if err != nil {
		t.Fatal(err)
	}
	info := comp.Info()
	if err := comp.Close(); err != nil {
		t.Fatal(err)
	}
	want := MatrixShape{M: 16, N: 16, K: 16, A: "float16", B: "float16", C: "float32", Result: "float32", Scope: "subgroup"}
	if !slices.Contains(info.CooperativeMatrices, want) || info.Bfloat16 {
		t.Errorf("%s offers %v, bf16 %v; want %v among them, no bf16", info.Name, info.CooperativeMatrices, info.Bfloat16, want)
	}
	if version, ok := instanceLayer(validationLayer); !ok || version >= vulkan.MakeVersion(1, 3, 255) {
		return
	}
	var warnings []string
	comp, err = OpenCompiler(Options{Device: "null hardware", Validate: true, Warn: func(err error) { warnings = append(warnings, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Close()
	if len(comp.Info().CooperativeMatrices) > 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "predates VK_KHR_cooperative_matrix") {
		t.Errorf("under an older validation layer: %v, warnings %q", comp.Info().CooperativeMatrices, warnings)
	}
}

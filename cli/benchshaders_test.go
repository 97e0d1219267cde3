package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// radvICD is where Debian's mesa-vulkan-drivers puts RADV's manifest.
const radvICD = "/usr/share/vulkan/icd.d/radeon_icd.json"

// nullHardwareEnv is the environment in which RADV lists the AMD GPU
// family as "Null hardware", added to the loader's other drivers, or alone
// with only. It skips where RADV is not installed.
func nullHardwareEnv(t *testing.T, family string, only bool) []string {
	t.Helper()
	if _, err := os.Stat(radvICD); err != nil {
		t.Skipf("RADV is not installed (%s: mesa-vulkan-drivers), so there is no AMD compiler to check the shaders with", radvICD)
	}
	env := []string{"RADV_FORCE_FAMILY=" + family}
	if only {
		env = append(env, "VK_ICD_FILENAMES="+radvICD)
	}
	if os.Getenv("XDG_RUNTIME_DIR") == "" {
		env = append(env, "XDG_RUNTIME_DIR="+t.TempDir())
	}
	return env
}

// The GPU compiler's verdict on every pipeline the standard model builds
// on a GPU: each compiles, spills nothing and fits the device's shared
// memory (the command fails otherwise), and its figures are there. On
// RDNA3 every warp kernel is at least half FMAs and loads by 128 bits
// (the GPU-kernel issue's bar: ggml-vulkan's mul_mm is 62% FMAs), and
// the fp16 instance of every cooperative-matrix kernel (RDNA3 has no bf16
// matrices in Mesa 25) runs on matrix instructions. Validation is off: the
// layer Debian 12 has predates cooperative matrices, and vk turns them
// off under it.
func TestBenchShadersOnNullHardware(t *testing.T) {
	files, err := filepath.Glob("../shaders/*.spv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shaders: %v", err)
	}
	// The shaders a family does not compile: the CPU-only subgroup kernels
	// and matrix emulation, and the matrix instances it has no matrices
	// of.
	notCompiled := map[string]*regexp.Regexp{
		"navi31": regexp.MustCompile(`_(subgroup|coopmat_emu|coopmat_bf16)$`),
		"vega10": regexp.MustCompile(`_(subgroup|coopmat_[a-z0-9]+)$`),
	}
	for _, family := range []string{"navi31", "vega10"} {
		t.Run(family, func(t *testing.T) {
			env := append(nullHardwareEnv(t, family, true), "VKCNN_VALIDATE=0")
			stdout, stderr, status := runVkcnn(t, env, "bench", "shaders", "--json", "--device", "null hardware")
			if status != 0 {
				t.Fatalf("status %d: %s", status, stderr)
			}
			var res benchShadersResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("%v in %s", err, stdout)
			}
			if !strings.Contains(res.Device, strings.ToUpper(family)) || !res.Statistics {
				t.Fatalf("device %q, statistics %v", res.Device, res.Statistics)
			}
			compiled := map[string]bool{}
			for _, p := range res.Pipelines {
				compiled[p.Shader] = true
				name := p.Shader + " " + p.Variant
				if p.Statistics["VGPRs"] <= 0 || len(p.Problems) > 0 || p.Instructions == nil || *p.Instructions <= 0 {
					t.Errorf("%s: %+v", name, p)
					continue
				}
				gemmShaped := strings.HasPrefix(p.Shader, "gemm_") || strings.HasPrefix(p.Shader, "conv_")
				matrix := strings.Contains(p.Shader, "_coopmat_")
				if gemmShaped && !matrix && *p.FMAInstructions == 0 {
					t.Errorf("%s: no FMA instruction among %d", name, *p.Instructions)
				}
				if matrix && (p.Matrix == nil || *p.Matrix == 0) {
					t.Errorf("%s: no matrix instruction among %d", name, *p.Instructions)
				}
				// The matrix kernels require the size RADV reports (64),
				// whatever wave it would compile them at.
				if matrix && p.SubgroupSize != 64 {
					t.Errorf("%s: compiled at %d lanes, want the 64 it requires", name, p.SubgroupSize)
				}
				if family == "navi31" && strings.HasSuffix(p.Shader, "_warp") && (2**p.FMAInstructions < *p.Instructions || *p.WideLoads == 0) {
					t.Errorf("%s: %d FMAs of %d instructions, %d 128-bit loads: want at least half FMAs and a 128-bit load", name, *p.FMAInstructions, *p.Instructions, *p.WideLoads)
				}
				if p.Shader == "copy" && *p.WideLoads != 1 {
					t.Errorf("copy: %d 128-bit loads, want 1", *p.WideLoads)
				}
			}
			for _, f := range files {
				name := strings.TrimSuffix(filepath.Base(f), ".spv")
				if !notCompiled[family].MatchString(name) && !compiled[name] {
					t.Errorf("%s was not compiled", name)
				}
			}
		})
	}
}

func TestDefaultIsNotNullHardware(t *testing.T) {
	stdout, stderr, status := runVkcnn(t, nullHardwareEnv(t, "navi31", false), "devices", "--json")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	var devices []struct {
		Name    string `json:"name"`
		Default bool   `json:"default"`
	}
	if err := json.Unmarshal([]byte(stdout), &devices); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	listed := false
	for _, d := range devices {
		if strings.Contains(d.Name, "Null hardware") {
			listed = true
			if d.Default {
				t.Errorf("%s is the default", d.Name)
			}
		}
	}
	if !listed {
		t.Fatalf("no null hardware among %+v", devices)
	}
}

func TestBenchShadersWithoutStatistics(t *testing.T) {
	stdout, stderr, status := runVkcnn(t, nil, "bench", "shaders", "--model", "small")
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if strings.Contains(stdout, "| shader") == strings.Contains(stdout, "reports no pipeline statistics") {
		t.Fatalf("neither a table nor a line saying there are no statistics:\n%s", stdout)
	}
}

package kernels_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// everyVariant is a device that can run every listed variant at every
// precision: 8-lane subgroups for the subgroup kernels, a GPU's limits
// for the others, and a CPU's emulation of the matrix kernels.
var everyVariant = vk.DeviceInfo{Type: "CPU", SubgroupSize: 8, SubgroupOps: []string{"basic", "ballot"},
	MinSubgroupSize: 8, MaxSubgroupSize: 8, MaxWorkgroupSubgroups: 128, MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 64}, SharedMemoryBytes: 48 << 10}

// matrixGPUs are a device of each cooperative-matrix instance: bf16
// matrices, and fp16 ones alone (compiled, not run).
var matrixGPUs = func() (out []vk.DeviceInfo) {
	for _, elem := range []string{"bfloat16", "float16"} {
		info := everyVariant
		info.Type, info.SubgroupSize, info.Bfloat16 = "discrete GPU", 32, elem == "bfloat16"
		info.MinSubgroupSize, info.MaxSubgroupSize, info.MaxWorkgroupSubgroups = 32, 32, 32
		info.CooperativeMatrices = []vk.MatrixShape{{M: 16, N: 16, K: 16, A: elem, B: elem, C: "float32", Result: "float32", Scope: "subgroup"}}
		out = append(out, info)
	}
	return out
}()

func standardPipelines(t *testing.T, variants []kernels.GemmVariant) []kernels.Pipeline {
	return standardPipelinesOn(t, everyVariant, variants)
}

func standardPipelinesOn(t *testing.T, info vk.DeviceInfo, variants []kernels.GemmVariant) []kernels.Pipeline {
	t.Helper()
	spec, err := nn.Preset("standard")
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	names, products := nn.Products(model, 1)
	pipelines, skipped, err := kernels.Pipelines(info, names, products, variants, kernels.Precisions, model.Input().Geometry())
	if err != nil || len(skipped) > 0 {
		t.Fatalf("%v; skipped %v", err, skipped)
	}
	return pipelines
}

func TestPipelinesCoverEveryShader(t *testing.T) {
	// Every variant on a device that runs them all, and the matrix ones on
	// each cooperative-matrix instance.
	matrix := slices.DeleteFunc(slices.Clone(kernels.GemmVariants), func(v kernels.GemmVariant) bool { return v.Style != kernels.Matrix })
	lists := [][]kernels.Pipeline{standardPipelines(t, kernels.GemmVariants)}
	for _, gpu := range matrixGPUs {
		lists = append(lists, standardPipelinesOn(t, gpu, matrix))
	}
	built := map[string]bool{}
	for _, pipelines := range lists {
		seen := map[string]bool{}
		for _, p := range pipelines {
			built[p.Spec.Name] = true
			key := p.Spec.Name + " " + p.Label
			if seen[key] {
				t.Errorf("%s listed twice", key)
			}
			seen[key] = true
			gemmShaped := strings.HasPrefix(p.Spec.Name, "gemm_") || strings.HasPrefix(p.Spec.Name, "conv_")
			if gemmShaped != (len(p.Users) > 0) {
				t.Errorf("%s: used by %q", key, p.Users)
			}
		}
	}
	files, err := filepath.Glob("../../shaders/*.spv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shaders found: %v", err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".spv"); !built[name] {
			t.Errorf("shader %s is in no pipeline", name)
		}
	}
}

func TestPipelinesCarryTheModelsFlags(t *testing.T) {
	v, err := kernels.GemmVariantByName("tiled128")
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	users := map[string][]string{}
	for _, p := range standardPipelines(t, []kernels.GemmVariant{v}) {
		labels = append(labels, p.Spec.Name+" "+p.Label)
		users[p.Spec.Name+" "+p.Label] = p.Users
	}
	// Convolutions add their bias and ReLU forward; hidden dense layers
	// add bias and ReLU, the last one bias alone; gradients transpose.
	for _, want := range []string{
		"conv_fwd_tiled tiled128 bias relu", "conv_bwd_data_tiled tiled128", "conv_bwd_filter_tiled tiled128",
		"gemm_tiled tiled128 bias relu", "gemm_tiled tiled128 bias", "gemm_tiled tiled128 transA", "gemm_tiled tiled128 transB",
		"relu forward", "relu backward", "maxpool forward", "maxpool backward", "colsum partial sums", "colsum totals",
	} {
		if !slices.Contains(labels, want) {
			t.Errorf("no pipeline %q among %q", want, labels)
		}
	}
	if u := users["conv_bwd_data_tiled tiled128"]; len(u) == 0 || slices.Contains(u, "conv2d_1 backward-data") || !slices.Contains(u, "conv2d_2 backward-data") {
		t.Errorf("backward-data users %q: the first convolution has none", u)
	}
}

package vk

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// VK_KHR_cooperative_matrix (2023) and VK_KHR_shader_bfloat16 (2025),
// newer than vulkan-go's 1.1.88 headers: their structures by their
// documented layouts, the query through vkGetInstanceProcAddr.
typedef void (*vkcnn_cm_void_fn)(void);
typedef vkcnn_cm_void_fn (*vkcnn_cm_gipa_fn)(void* instance, const char* name);
typedef void (*vkcnn_cm_features2_fn)(void* physical, void* out);

typedef struct { uint32_t sType; void* pNext; } vkcnn_cm_chain;
typedef struct { uint32_t sType; void* pNext; uint32_t features[64]; } vkcnn_cm_features2;
typedef struct { uint32_t sType; void* pNext; uint32_t cooperativeMatrix, robustBufferAccess; } vkcnn_cm_features;
typedef struct { uint32_t sType; void* pNext; uint32_t type, dotProduct, cooperativeMatrix; } vkcnn_bf16_features;
typedef struct { uint32_t sType; void* pNext; uint32_t shaderFloat16, shaderInt8; } vkcnn_f16_features;
typedef struct { uint32_t sType; void* pNext; uint32_t pipelineExecutableInfo; } vkcnn_stats_feature;
typedef struct { uint32_t sType; void* pNext; uint32_t subgroupSizeControl, computeFullSubgroups; } vkcnn_sgc_feature;
typedef struct { uint32_t sType; void* pNext; uint32_t vulkanMemoryModel, deviceScope, availabilityVisibilityChains; } vkcnn_vmm_feature;
typedef struct {
	uint32_t sType; void* pNext;
	uint32_t M, N, K, A, B, C, Result, saturatingAccumulation, scope;
} vkcnn_cm_properties;
typedef int32_t (*vkcnn_cm_properties_fn)(void* physical, uint32_t* n, vkcnn_cm_properties* out);

enum {
	vkcnn_cm_features_type = 1000506000,
	vkcnn_cm_properties_type = 1000506001,
	vkcnn_bf16_features_type = 1000141000,
	vkcnn_f16_features_type = 1000082000,
	vkcnn_stats_feature_type = 1000269000,
};

// vkcnn_cm_supported reports which of the features the device offers:
// cooperative matrices, and bf16 in them.
static void vkcnn_cm_supported(void* gipa, void* instance, void* physical, int cm, int bf16, uint32_t out[2]) {
	vkcnn_cm_features2_fn feats2 = (vkcnn_cm_features2_fn)((vkcnn_cm_gipa_fn)gipa)(instance, "vkGetPhysicalDeviceFeatures2");
	memset(out, 0, 2 * sizeof out[0]);
	if (feats2 == NULL) return;
	vkcnn_cm_features c; memset(&c, 0, sizeof c); c.sType = vkcnn_cm_features_type;
	vkcnn_bf16_features b; memset(&b, 0, sizeof b); b.sType = vkcnn_bf16_features_type;
	vkcnn_cm_features2 f; memset(&f, 0, sizeof f); f.sType = 1000059000;
	vkcnn_cm_chain* last = (vkcnn_cm_chain*)&f;
	if (cm) { last->pNext = &c; last = (vkcnn_cm_chain*)&c; }
	if (bf16) { last->pNext = &b; }
	feats2(physical, &f);
	out[0] = c.cooperativeMatrix;
	out[1] = b.cooperativeMatrix;
}

// vkcnn_cm_shapes fills out with up to *n of the device's shapes, or counts
// them where out is NULL.
static int32_t vkcnn_cm_shapes(void* gipa, void* instance, void* physical, uint32_t* n, vkcnn_cm_properties* out) {
	vkcnn_cm_properties_fn props = (vkcnn_cm_properties_fn)((vkcnn_cm_gipa_fn)gipa)(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR");
	if (props == NULL) { *n = 0; return 0; }
	for (uint32_t i = 0; out != NULL && i < *n; i++) { memset(&out[i], 0, sizeof out[i]); out[i].sType = vkcnn_cm_properties_type; }
	return props(physical, n, out);
}

// vkcnn_device_features is the chain that enables the requested features
// at vkCreateDevice, in one allocation the caller frees; NULL where none is
// requested.
typedef struct {
	void* head; // the first requested structure
	vkcnn_cm_features cm; vkcnn_bf16_features bf16; vkcnn_f16_features f16; vkcnn_stats_feature stats; vkcnn_sgc_feature sgc;
	vkcnn_vmm_feature vmm;
} vkcnn_device_features;

static vkcnn_device_features* vkcnn_device_features_request(int cm, int bf16, int f16, int stats, int sgc, int vmm) {
	vkcnn_device_features* d = calloc(1, sizeof *d);
	if (d == NULL) return NULL;
	vkcnn_cm_chain head = {0, NULL};
	vkcnn_cm_chain* last = &head;
	if (cm) { d->cm.sType = vkcnn_cm_features_type; d->cm.cooperativeMatrix = 1; last->pNext = &d->cm; last = (vkcnn_cm_chain*)&d->cm; }
	if (bf16) { d->bf16.sType = vkcnn_bf16_features_type; d->bf16.type = 1; d->bf16.cooperativeMatrix = 1; last->pNext = &d->bf16; last = (vkcnn_cm_chain*)&d->bf16; }
	if (f16) { d->f16.sType = vkcnn_f16_features_type; d->f16.shaderFloat16 = 1; last->pNext = &d->f16; last = (vkcnn_cm_chain*)&d->f16; }
	if (stats) { d->stats.sType = vkcnn_stats_feature_type; d->stats.pipelineExecutableInfo = 1; last->pNext = &d->stats; last = (vkcnn_cm_chain*)&d->stats; }
	if (sgc) { d->sgc.sType = 1000225002; d->sgc.subgroupSizeControl = 1; d->sgc.computeFullSubgroups = 1; last->pNext = &d->sgc; last = (vkcnn_cm_chain*)&d->sgc; }
	if (vmm) { d->vmm.sType = 1000211000; d->vmm.vulkanMemoryModel = 1; last->pNext = &d->vmm; }
	if (head.pNext == NULL) { free(d); return NULL; }
	d->head = head.pNext;
	return d;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// The extensions of the optional features.
const (
	cooperativeMatrixExtension = "VK_KHR_cooperative_matrix"
	// The matrix shaders' scopes and semantics (GL_KHR_memory_scope_semantics)
	// declare the Vulkan memory model, which must be enabled with them.
	memoryModelExtension = "VK_KHR_vulkan_memory_model"
	bfloat16Extension    = "VK_KHR_shader_bfloat16"
	float16Extension     = "VK_KHR_shader_float16_int8"
)

// MatrixShape is one cooperative-matrix product a device runs: A (M x K)
// times B (K x N) plus C (M x N), of the component types named
// ("float16", "bfloat16", "float32", ...), at a scope ("subgroup", ...).
type MatrixShape struct {
	M, N, K  uint32
	A, B, C  string
	Result   string
	Scope    string
	Saturate bool `json:",omitempty"`
}

func (s MatrixShape) String() string {
	return fmt.Sprintf("%dx%dx%d %s*%s+%s->%s (%s)", s.M, s.N, s.K, s.A, s.B, s.C, s.Result, s.Scope)
}

// componentTypes names VkComponentTypeKHR's values.
var componentTypes = map[uint32]string{0: "float16", 1: "float32", 2: "float64", 3: "sint8", 4: "sint16", 5: "sint32", 6: "sint64",
	7: "uint8", 8: "uint16", 9: "uint32", 10: "uint64", 1000141000: "bfloat16"}

// scopes names VkScopeKHR's values.
var scopes = map[uint32]string{1: "device", 2: "workgroup", 3: "subgroup", 5: "queue family"}

func nameOf(names map[uint32]string, v uint32) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("type %d", v)
}

// matrixFeatures are the cooperative matrices a device offers.
type matrixFeatures struct {
	bfloat16 bool
	shapes   []MatrixShape
}

// queryMatrices asks the device for its cooperative matrices and bf16 in
// them, where its extensions say it has them.
func queryMatrices(instance vulkan.Instance, physical vulkan.PhysicalDevice, exts map[string]bool) matrixFeatures {
	var got [2]C.uint32_t
	C.vkcnn_cm_supported(procAddr(), unsafe.Pointer(instance), unsafe.Pointer(physical), cbool(exts[cooperativeMatrixExtension]),
		cbool(exts[bfloat16Extension]), &got[0])
	f := matrixFeatures{bfloat16: got[1] != 0}
	if got[0] == 0 {
		return f
	}
	var n C.uint32_t
	if C.vkcnn_cm_shapes(procAddr(), unsafe.Pointer(instance), unsafe.Pointer(physical), &n, nil) != 0 || n == 0 {
		return f
	}
	props := make([]C.vkcnn_cm_properties, n)
	if C.vkcnn_cm_shapes(procAddr(), unsafe.Pointer(instance), unsafe.Pointer(physical), &n, &props[0]) != 0 {
		return f
	}
	for _, p := range props[:n] {
		f.shapes = append(f.shapes, MatrixShape{M: uint32(p.M), N: uint32(p.N), K: uint32(p.K),
			A: nameOf(componentTypes, uint32(p.A)), B: nameOf(componentTypes, uint32(p.B)), C: nameOf(componentTypes, uint32(p.C)),
			Result: nameOf(componentTypes, uint32(p.Result)), Scope: nameOf(scopes, uint32(p.scope)), Saturate: p.saturatingAccumulation != 0})
	}
	return f
}

// enableFeatures enables in the device create info the optional features
// the device offers that vkcnn's shaders use (cooperative matrices with
// the memory model their shaders declare, bf16 in them, fp16 arithmetic,
// required subgroup sizes) and, with statistics, pipeline statistics; it
// returns what frees the request after vkCreateDevice.
func (c *Context) enableFeatures(info *vulkan.DeviceCreateInfo, statistics bool) (release func()) {
	exts := deviceExtensions(c.inst, c.Info.physical)
	var names []string
	add := func(ext string, on bool) bool {
		if on && exts[ext] {
			names = append(names, ext+"\x00")
		}
		return on
	}
	cm := add(cooperativeMatrixExtension, len(c.Info.CooperativeMatrices) > 0)
	vmm := add(memoryModelExtension, cm && exts[memoryModelExtension])
	bf16 := add(bfloat16Extension, c.Info.Bfloat16)
	f16 := c.Info.Float16
	add(float16Extension, f16)
	statistics = add(pipelineExecutableExtension, statistics)
	sizes := add(subgroupSizeExtension, c.Info.MinSubgroupSize > 0)
	req := C.vkcnn_device_features_request(cbool(cm), cbool(bf16), cbool(f16), cbool(statistics), cbool(sizes), cbool(vmm))
	if req == nil {
		return func() {}
	}
	info.PNext = req.head
	info.EnabledExtensionCount = uint32(len(names))
	info.PpEnabledExtensionNames = names
	return func() { C.free(unsafe.Pointer(req)) }
}

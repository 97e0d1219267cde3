package vk

/*
#include <stdint.h>
#include <string.h>

// Vulkan 1.1/1.2 structures that vulkan-go's 1.1.88 headers lack, declared
// here by their documented layouts so no Vulkan headers are needed.
typedef void (*vkcnn_void_fn)(void);
typedef vkcnn_void_fn (*vkcnn_gipa_fn)(void* instance, const char* name);
typedef void (*vkcnn_get2_fn)(void* physical, void* out);

typedef struct { uint32_t sType; void* pNext; } vkcnn_chain;
typedef struct { uint32_t sType; void* pNext; uint64_t properties[128]; } vkcnn_properties2;
typedef struct { uint32_t sType; void* pNext; uint32_t features[64]; } vkcnn_features2;
typedef struct { uint32_t sType; void* pNext; uint32_t subgroupSize, supportedStages, supportedOperations, quadOperationsInAllStages; } vkcnn_subgroup;
typedef struct { uint32_t sType; void* pNext; uint32_t driverID; char driverName[256]; char driverInfo[256]; uint8_t conformance[4]; } vkcnn_driver;
typedef struct { uint32_t sType; void* pNext; uint32_t storageBuffer16, uniformAndStorageBuffer16, storagePushConstant16, storageInputOutput16; } vkcnn_storage16;
typedef struct { uint32_t sType; void* pNext; uint32_t shaderFloat16, shaderInt8; } vkcnn_float16int8;
typedef struct { uint32_t sType; void* pNext; uint32_t shaderSMCount, shaderWarpsPerSM; } vkcnn_sm_builtins;
typedef struct { uint32_t sType; void* pNext; uint32_t shaderEngineCount, shaderArraysPerEngineCount, computeUnitsPerShaderArray, rest[11]; } vkcnn_amd_core;
typedef struct { uint32_t sType; void* pNext; uint32_t minSubgroupSize, maxSubgroupSize, maxComputeWorkgroupSubgroups, requiredSubgroupSizeStages; } vkcnn_sgc_properties;
typedef struct { uint32_t sType; void* pNext; uint32_t subgroupSizeControl, computeFullSubgroups; } vkcnn_sgc_features;

typedef struct {
	uint32_t subgroupSize, subgroupStages, subgroupOps;
	uint32_t storageBuffer16, float16, int8;
	uint32_t driverID;
	char driverName[256];
	char driverInfo[256];
	uint32_t computeUnits;
	uint32_t minSubgroupSize, maxSubgroupSize, maxWorkgroupSubgroups;
} vkcnn_extra;

static int vkcnn_query(void* gipa, void* instance, void* physical, int driverProps, int float16Int8, int smBuiltins, int amdCore, int sizeControl, vkcnn_extra* out) {
	vkcnn_gipa_fn get = (vkcnn_gipa_fn)gipa;
	vkcnn_get2_fn props2 = (vkcnn_get2_fn)get(instance, "vkGetPhysicalDeviceProperties2");
	vkcnn_get2_fn feats2 = (vkcnn_get2_fn)get(instance, "vkGetPhysicalDeviceFeatures2");
	if (props2 == NULL || feats2 == NULL) return 0;

	vkcnn_subgroup sub; memset(&sub, 0, sizeof sub); sub.sType = 1000094000;
	vkcnn_driver drv; memset(&drv, 0, sizeof drv); drv.sType = 1000196000;
	vkcnn_properties2 p; memset(&p, 0, sizeof p); p.sType = 1000059001;
	vkcnn_sm_builtins sm; memset(&sm, 0, sizeof sm); sm.sType = 1000154001;
	vkcnn_amd_core amd; memset(&amd, 0, sizeof amd); amd.sType = 1000185000;
	vkcnn_sgc_properties sgc; memset(&sgc, 0, sizeof sgc); sgc.sType = 1000225000;
	// Each structure is chained only where the device supports it.
	vkcnn_chain* last = (vkcnn_chain*)&sub;
	p.pNext = &sub;
	if (driverProps) { last->pNext = &drv; last = (vkcnn_chain*)&drv; }
	if (smBuiltins) { last->pNext = &sm; last = (vkcnn_chain*)&sm; }
	if (amdCore) { last->pNext = &amd; last = (vkcnn_chain*)&amd; }
	if (sizeControl) { last->pNext = &sgc; last = (vkcnn_chain*)&sgc; }
	props2(physical, &p);

	vkcnn_storage16 s16; memset(&s16, 0, sizeof s16); s16.sType = 1000083000;
	vkcnn_float16int8 f16; memset(&f16, 0, sizeof f16); f16.sType = 1000082000;
	vkcnn_features2 f; memset(&f, 0, sizeof f); f.sType = 1000059000;
	f.pNext = &s16;
	vkcnn_sgc_features sgcf; memset(&sgcf, 0, sizeof sgcf); sgcf.sType = 1000225002;
	last = (vkcnn_chain*)&s16;
	if (float16Int8) { last->pNext = &f16; last = (vkcnn_chain*)&f16; }
	if (sizeControl) { last->pNext = &sgcf; }
	feats2(physical, &f);

	out->subgroupSize = sub.subgroupSize;
	out->subgroupStages = sub.supportedStages;
	out->subgroupOps = sub.supportedOperations;
	out->storageBuffer16 = s16.storageBuffer16;
	out->float16 = f16.shaderFloat16;
	out->int8 = f16.shaderInt8;
	out->driverID = drv.driverID;
	memcpy(out->driverName, drv.driverName, sizeof drv.driverName);
	memcpy(out->driverInfo, drv.driverInfo, sizeof drv.driverInfo);
	out->driverName[255] = 0;
	out->driverInfo[255] = 0;
	out->computeUnits = smBuiltins ? sm.shaderSMCount
		: amdCore ? amd.shaderEngineCount * amd.shaderArraysPerEngineCount * amd.computeUnitsPerShaderArray : 0;
	// A size can be required of compute pipelines, with full subgroups.
	if (sgcf.subgroupSizeControl && sgcf.computeFullSubgroups && (sgc.requiredSubgroupSizeStages & 0x20)) {
		out->minSubgroupSize = sgc.minSubgroupSize;
		out->maxSubgroupSize = sgc.maxSubgroupSize;
		out->maxWorkgroupSubgroups = sgc.maxComputeWorkgroupSubgroups;
	}
	return 1;
}
*/
import "C"

import (
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// extraProperties are what Vulkan 1.1/1.2 report beyond vulkan-go's 1.0
// queries.
type extraProperties struct {
	SubgroupSize uint32
	SubgroupOps  uint32
	Storage16    bool
	Float16      bool
	DriverID     uint32
	DriverName   string
	DriverInfo   string
	ComputeUnits uint32
	// The subgroup sizes a compute pipeline can require, with full
	// subgroups, and the subgroups a workgroup may then hold; zero where
	// none can be required.
	MinSubgroupSize, MaxSubgroupSize, MaxWorkgroupSubgroups uint32
	haveProperties                                          bool
}

// queryExtra asks for subgroup, 16-bit and driver properties, and the
// multiprocessor or compute-unit count (VK_NV_shader_sm_builtins,
// VK_AMD_shader_core_properties), and the subgroup sizes a pipeline can
// require (VK_EXT_subgroup_size_control). Structures are chained only
// where the device supports them, as the spec requires.
func queryExtra(instance vulkan.Instance, physical vulkan.PhysicalDevice, driverProps, float16Int8, smBuiltins, amdCore, sizeControl bool) extraProperties {
	var out C.vkcnn_extra
	ok := C.vkcnn_query(procAddr(), unsafe.Pointer(instance), unsafe.Pointer(physical), cbool(driverProps), cbool(float16Int8),
		cbool(smBuiltins), cbool(amdCore), cbool(sizeControl), &out)
	if ok == 0 {
		return extraProperties{}
	}
	return extraProperties{
		SubgroupSize:          uint32(out.subgroupSize),
		SubgroupOps:           uint32(out.subgroupOps),
		Storage16:             out.storageBuffer16 != 0,
		Float16:               out.float16 != 0,
		DriverID:              uint32(out.driverID),
		DriverName:            C.GoString(&out.driverName[0]),
		DriverInfo:            C.GoString(&out.driverInfo[0]),
		ComputeUnits:          uint32(out.computeUnits),
		MinSubgroupSize:       uint32(out.minSubgroupSize),
		MaxSubgroupSize:       uint32(out.maxSubgroupSize),
		MaxWorkgroupSubgroups: uint32(out.maxWorkgroupSubgroups),
		haveProperties:        true,
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

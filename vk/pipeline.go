package vk

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// vkCreateComputePipelines with its create info built here, in C: vulkan-go
// builds it in C memory that a finalizer frees once the Go variable that
// held it is unreachable, which can be during the call (a garbage
// collection while the driver compiles: seen as crashes and bad_alloc
// inside vkCreateComputePipelines, often with GOGC=1).
typedef void (*vkcnn_cp_void_fn)(void);
typedef vkcnn_cp_void_fn (*vkcnn_cp_gipa_fn)(void* instance, const char* name);
typedef vkcnn_cp_void_fn (*vkcnn_cp_gdpa_fn)(void* device, const char* name);

typedef struct { uint32_t constantID, offset; size_t size; } vkcnn_cp_map_entry;
typedef struct { uint32_t mapEntryCount; const vkcnn_cp_map_entry* pMapEntries; size_t dataSize; const void* pData; } vkcnn_cp_specialization;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags; uint32_t stage; uint64_t module;
	const char* pName; const vkcnn_cp_specialization* pSpecializationInfo;
} vkcnn_cp_stage;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags; vkcnn_cp_stage stage; uint64_t layout;
	uint64_t basePipelineHandle; int32_t basePipelineIndex;
} vkcnn_cp_info;
typedef struct { uint32_t sType; void* pNext; uint32_t requiredSubgroupSize; } vkcnn_cp_subgroup;
typedef int32_t (*vkcnn_cp_create_fn)(void* device, uint64_t cache, uint32_t count, const vkcnn_cp_info* infos, const void* allocator, uint64_t* pipelines);

// vkcnn_create_compute_pipeline compiles the entry point "main" of module
// with its specialization constants 0..count-1 set to spec (32-bit each),
// and where subgroup is not 0, subgroups of that size, all full
// (VK_EXT_subgroup_size_control).
static int32_t vkcnn_create_compute_pipeline(void* gipa, void* instance, void* device, uint64_t cache, uint32_t flags,
		uint64_t module, uint64_t layout, const uint32_t* spec, uint32_t count, uint32_t subgroup, uint64_t* pipeline) {
	vkcnn_cp_gdpa_fn gdpa = (vkcnn_cp_gdpa_fn)((vkcnn_cp_gipa_fn)gipa)(instance, "vkGetDeviceProcAddr");
	if (gdpa == NULL) return -3; // VK_ERROR_INITIALIZATION_FAILED
	vkcnn_cp_create_fn create = (vkcnn_cp_create_fn)gdpa(device, "vkCreateComputePipelines");
	if (create == NULL) return -3;

	vkcnn_cp_map_entry* entries = NULL;
	vkcnn_cp_specialization specialization;
	memset(&specialization, 0, sizeof specialization);
	if (count > 0) {
		entries = calloc(count, sizeof *entries);
		if (entries == NULL) return -1; // VK_ERROR_OUT_OF_HOST_MEMORY
		for (uint32_t i = 0; i < count; i++) {
			entries[i].constantID = i;
			entries[i].offset = 4 * i;
			entries[i].size = 4;
		}
		specialization.mapEntryCount = count;
		specialization.pMapEntries = entries;
		specialization.dataSize = 4 * (size_t)count;
		specialization.pData = spec;
	}
	vkcnn_cp_info info;
	memset(&info, 0, sizeof info);
	info.sType = 29;          // VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
	info.flags = flags;
	info.stage.sType = 18;    // VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
	info.stage.stage = 0x20;  // VK_SHADER_STAGE_COMPUTE_BIT
	info.stage.module = module;
	info.stage.pName = "main";
	info.stage.pSpecializationInfo = count > 0 ? &specialization : NULL;
	vkcnn_cp_subgroup required;
	memset(&required, 0, sizeof required);
	if (subgroup != 0) {
		required.sType = 1000225001; // VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO
		required.requiredSubgroupSize = subgroup;
		info.stage.pNext = &required;
		info.stage.flags = 0x2;  // VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT
	}
	info.layout = layout;
	info.basePipelineIndex = -1;
	int32_t r = create(device, cache, 1, &info, NULL, pipeline);
	free(entries);
	return r;
}
*/
import "C"

import (
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// createComputePipeline compiles module's "main" with specialization
// constants 0..len(spec)-1, through cache (0 for none), requiring full
// subgroups of subgroup lanes where that is not 0.
func (c *Context) createComputePipeline(cache uint64, flags vulkan.PipelineCreateFlags, module, layout uint64, spec []uint32, subgroup uint32) (uint64, error) {
	var data *C.uint32_t
	if len(spec) > 0 {
		data = (*C.uint32_t)(unsafe.Pointer(&spec[0]))
	}
	var pipeline C.uint64_t
	r := C.vkcnn_create_compute_pipeline(procAddr(), unsafe.Pointer(c.inst.handle), unsafe.Pointer(c.device), C.uint64_t(cache), C.uint32_t(flags),
		C.uint64_t(module), C.uint64_t(layout), data, C.uint32_t(len(spec)), C.uint32_t(subgroup), &pipeline)
	if err := check("vkCreateComputePipelines", vulkan.Result(r)); err != nil {
		return 0, err
	}
	return uint64(pipeline), nil
}

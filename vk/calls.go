package vk

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The calls a step makes over and over, with their structures built on
// the C stack by their documented layouts. vulkan-go copies a slice of
// structures into C memory that a finalizer frees, and the finalizer can
// run while the driver still reads it: under a busy collector the driver
// read garbage and crashed in vkQueueSubmit.
typedef void (*vkcnn_fn)(void);
typedef vkcnn_fn (*vkcnn_gipa)(void* instance, const char* name);

typedef struct {
	uint32_t sType; const void* pNext;
	uint32_t waitSemaphoreCount; const void* pWaitSemaphores; const void* pWaitDstStageMask;
	uint32_t commandBufferCount; void* const* pCommandBuffers;
	uint32_t signalSemaphoreCount; const void* pSignalSemaphores;
} vkcnn_submit_info;
typedef int32_t (*vkcnn_queue_submit_fn)(void* queue, uint32_t n, const vkcnn_submit_info* submits, uint64_t fence);

typedef struct { uint64_t srcOffset, dstOffset, size; } vkcnn_buffer_copy;
typedef void (*vkcnn_copy_buffer_fn)(void* cmd, uint64_t src, uint64_t dst, uint32_t n, const vkcnn_buffer_copy* regions);

typedef struct { uint32_t sType; const void* pNext; uint32_t srcAccessMask, dstAccessMask; } vkcnn_memory_barrier;
typedef void (*vkcnn_barrier_fn)(void* cmd, uint32_t srcStages, uint32_t dstStages, uint32_t dependencies,
	uint32_t memoryBarriers, const vkcnn_memory_barrier* memory, uint32_t bufferBarriers, const void* buffers, uint32_t imageBarriers, const void* images);

typedef struct { uint64_t buffer, offset, range; } vkcnn_buffer_info;
typedef struct {
	uint32_t sType; const void* pNext;
	uint64_t dstSet; uint32_t dstBinding, dstArrayElement, descriptorCount, descriptorType;
	const void* pImageInfo; const vkcnn_buffer_info* pBufferInfo; const void* pTexelBufferView;
} vkcnn_write_set;
typedef void (*vkcnn_update_sets_fn)(void* device, uint32_t writes, const vkcnn_write_set* write, uint32_t copies, const void* copy);

enum {
	vkcnn_submit_info_type = 4,
	vkcnn_memory_barrier_type = 46,
	vkcnn_write_set_type = 35,
	vkcnn_storage_buffer = 7,
};

static void* vkcnn_lookup(void* gipa, void* instance, const char* name) {
	return (void*)((vkcnn_gipa)gipa)(instance, name);
}

// The queries that fill arrays, which vulkan-go also copies through C
// memory a finalizer frees: filled here into the caller's array.
typedef struct { char extensionName[256]; uint32_t specVersion; } vkcnn_extension;
typedef struct { char layerName[256]; uint32_t specVersion, implementationVersion; char description[256]; } vkcnn_layer;
typedef struct { uint32_t queueFlags, queueCount, timestampValidBits, width, height, depth; } vkcnn_queue_family;

static int32_t vkcnn_device_extensions(void* gipa, void* instance, void* physical, uint32_t* n, vkcnn_extension* out) {
	typedef int32_t (*fn)(void*, const char*, uint32_t*, vkcnn_extension*);
	fn f = (fn)vkcnn_lookup(gipa, instance, "vkEnumerateDeviceExtensionProperties");
	return f == NULL ? -7 : f(physical, NULL, n, out);
}

static int32_t vkcnn_instance_layers(void* gipa, uint32_t* n, vkcnn_layer* out) {
	typedef int32_t (*fn)(uint32_t*, vkcnn_layer*);
	fn f = (fn)vkcnn_lookup(gipa, NULL, "vkEnumerateInstanceLayerProperties");
	return f == NULL ? -7 : f(n, out);
}

static void vkcnn_queue_families(void* gipa, void* instance, void* physical, uint32_t* n, vkcnn_queue_family* out) {
	typedef void (*fn)(void*, uint32_t*, vkcnn_queue_family*);
	fn f = (fn)vkcnn_lookup(gipa, instance, "vkGetPhysicalDeviceQueueFamilyProperties");
	if (f == NULL) { *n = 0; return; }
	f(physical, n, out);
}

static int32_t vkcnn_queue_submit(void* fn, void* queue, void* cmd, uint64_t fence) {
	vkcnn_submit_info info;
	memset(&info, 0, sizeof info);
	info.sType = vkcnn_submit_info_type;
	info.commandBufferCount = 1;
	info.pCommandBuffers = &cmd;
	return ((vkcnn_queue_submit_fn)fn)(queue, 1, &info, fence);
}

static void vkcnn_copy_buffer(void* fn, void* cmd, uint64_t src, uint64_t dst, uint64_t srcOffset, uint64_t dstOffset, uint64_t size) {
	vkcnn_buffer_copy region = {srcOffset, dstOffset, size};
	((vkcnn_copy_buffer_fn)fn)(cmd, src, dst, 1, &region);
}

static void vkcnn_memory_barrier_all(void* fn, void* cmd, uint32_t srcStages, uint32_t srcAccess, uint32_t dstStages, uint32_t dstAccess) {
	vkcnn_memory_barrier barrier;
	memset(&barrier, 0, sizeof barrier);
	barrier.sType = vkcnn_memory_barrier_type;
	barrier.srcAccessMask = srcAccess;
	barrier.dstAccessMask = dstAccess;
	((vkcnn_barrier_fn)fn)(cmd, srcStages, dstStages, 0, 1, &barrier, 0, NULL, 0, NULL);
}

// vkcnn_bind_buffer writes binding's storage-buffer descriptor of set.
static void vkcnn_bind_buffer(void* fn, void* device, uint64_t set, uint32_t binding, uint64_t buffer, uint64_t offset, uint64_t range) {
	vkcnn_buffer_info info = {buffer, offset, range};
	vkcnn_write_set write;
	memset(&write, 0, sizeof write);
	write.sType = vkcnn_write_set_type;
	write.dstSet = set;
	write.dstBinding = binding;
	write.descriptorCount = 1;
	write.descriptorType = vkcnn_storage_buffer;
	write.pBufferInfo = &info;
	((vkcnn_update_sets_fn)fn)(device, 1, &write, 0, NULL);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// calls are the entry points of the calls that go around vulkan-go.
type calls struct {
	submitFn, copyFn, barrierFn, updateSetsFn unsafe.Pointer
}

// lookupCalls finds the calls' entry points in the instance.
func lookupCalls(inst vulkan.Instance) (calls, error) {
	var cs calls
	for _, e := range []struct {
		name string
		fn   *unsafe.Pointer
	}{
		{"vkQueueSubmit", &cs.submitFn}, {"vkCmdCopyBuffer", &cs.copyFn},
		{"vkCmdPipelineBarrier", &cs.barrierFn}, {"vkUpdateDescriptorSets", &cs.updateSetsFn},
	} {
		name := C.CString(e.name)
		*e.fn = C.vkcnn_lookup(procAddr(), unsafe.Pointer(inst), name)
		C.free(unsafe.Pointer(name))
		if *e.fn == nil {
			return cs, fmt.Errorf("the Vulkan loader has no %s", e.name)
		}
	}
	return cs, nil
}

// submit submits one command buffer, which signals fence when done.
func (cs calls) submit(queue vulkan.Queue, cmd vulkan.CommandBuffer, fence uint64) vulkan.Result {
	return vulkan.Result(C.vkcnn_queue_submit(cs.submitFn, unsafe.Pointer(queue), unsafe.Pointer(cmd), C.uint64_t(fence)))
}

// copy records a copy of n bytes.
func (cs calls) copy(cmd vulkan.CommandBuffer, src, dst uint64, srcOffset, dstOffset, n int64) {
	C.vkcnn_copy_buffer(cs.copyFn, unsafe.Pointer(cmd), C.uint64_t(src), C.uint64_t(dst), C.uint64_t(srcOffset), C.uint64_t(dstOffset), C.uint64_t(n))
}

// memoryBarrier records a global memory barrier.
func (cs calls) memoryBarrier(cmd vulkan.CommandBuffer, srcStage vulkan.PipelineStageFlagBits, srcAccess vulkan.AccessFlagBits, dstStage vulkan.PipelineStageFlagBits, dstAccess vulkan.AccessFlagBits) {
	C.vkcnn_memory_barrier_all(cs.barrierFn, unsafe.Pointer(cmd), C.uint32_t(srcStage), C.uint32_t(srcAccess), C.uint32_t(dstStage), C.uint32_t(dstAccess))
}

// bindBuffer writes a storage-buffer binding of a descriptor set.
func (cs calls) bindBuffer(device vulkan.Device, set uint64, binding int, buffer uint64, offset, size int64) {
	C.vkcnn_bind_buffer(cs.updateSetsFn, unsafe.Pointer(device), C.uint64_t(set), C.uint32_t(binding), C.uint64_t(buffer), C.uint64_t(offset), C.uint64_t(size))
}

// deviceExtensions are the names of the extensions the device offers (nil
// where they cannot be listed).
func deviceExtensions(inst *instance, h vulkan.PhysicalDevice) map[string]bool {
	var n C.uint32_t
	gipa, in, ph := procAddr(), unsafe.Pointer(inst.handle), unsafe.Pointer(h)
	if C.vkcnn_device_extensions(gipa, in, ph, &n, nil) != 0 || n == 0 {
		return nil
	}
	props := make([]C.vkcnn_extension, n)
	if C.vkcnn_device_extensions(gipa, in, ph, &n, &props[0]) != 0 {
		return nil
	}
	out := make(map[string]bool, n)
	for _, p := range props[:n] {
		out[C.GoString(&p.extensionName[0])] = true
	}
	return out
}

// instanceLayer is the version of the instance layer name, where the
// loader has it.
func instanceLayer(name string) (version uint32, ok bool) {
	var n C.uint32_t
	if C.vkcnn_instance_layers(procAddr(), &n, nil) != 0 || n == 0 {
		return 0, false
	}
	props := make([]C.vkcnn_layer, n)
	if C.vkcnn_instance_layers(procAddr(), &n, &props[0]) != 0 {
		return 0, false
	}
	for _, p := range props[:n] {
		if C.GoString(&p.layerName[0]) == name {
			return uint32(p.specVersion), true
		}
	}
	return 0, false
}

// queueFamily is what vkcnn asks of a queue family.
type queueFamily struct {
	flags         vulkan.QueueFlags
	timestampBits uint32
}

// queueFamilies lists the device's queue families.
func queueFamilies(inst *instance, h vulkan.PhysicalDevice) []queueFamily {
	var n C.uint32_t
	gipa, in, ph := procAddr(), unsafe.Pointer(inst.handle), unsafe.Pointer(h)
	C.vkcnn_queue_families(gipa, in, ph, &n, nil)
	if n == 0 {
		return nil
	}
	props := make([]C.vkcnn_queue_family, n)
	C.vkcnn_queue_families(gipa, in, ph, &n, &props[0])
	out := make([]queueFamily, n)
	for i, p := range props[:n] {
		out[i] = queueFamily{flags: vulkan.QueueFlags(p.queueFlags), timestampBits: uint32(p.timestampValidBits)}
	}
	return out
}

package vk

/*
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

// The pipeline cache's calls, through the device's own entry points, with
// their structures built here (see pipeline.go for why not vulkan-go's).
typedef void (*vkcnn_pc_void_fn)(void);
typedef vkcnn_pc_void_fn (*vkcnn_pc_gipa_fn)(void* instance, const char* name);
typedef vkcnn_pc_void_fn (*vkcnn_pc_gdpa_fn)(void* device, const char* name);
typedef struct { uint32_t sType; const void* pNext; uint32_t flags; size_t initialDataSize; const void* pInitialData; } vkcnn_pc_info;
typedef int32_t (*vkcnn_pc_create_fn)(void* device, const vkcnn_pc_info* info, const void* allocator, uint64_t* cache);
typedef int32_t (*vkcnn_pc_data_fn)(void* device, uint64_t cache, size_t* size, void* data);
typedef void (*vkcnn_pc_destroy_fn)(void* device, uint64_t cache, const void* allocator);

static vkcnn_pc_void_fn vkcnn_pc_proc(void* gipa, void* instance, void* device, const char* name) {
	vkcnn_pc_gdpa_fn gdpa = (vkcnn_pc_gdpa_fn)((vkcnn_pc_gipa_fn)gipa)(instance, "vkGetDeviceProcAddr");
	return gdpa == NULL ? NULL : gdpa(device, name);
}

static int32_t vkcnn_create_pipeline_cache(void* gipa, void* instance, void* device, const void* data, size_t size, uint64_t* cache) {
	vkcnn_pc_create_fn create = (vkcnn_pc_create_fn)vkcnn_pc_proc(gipa, instance, device, "vkCreatePipelineCache");
	if (create == NULL) return -3;
	vkcnn_pc_info info = { 17, NULL, 0, size, data }; // VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
	return create(device, &info, NULL, cache);
}

static int32_t vkcnn_pipeline_cache_data(void* gipa, void* instance, void* device, uint64_t cache, size_t* size, void* data) {
	vkcnn_pc_data_fn get = (vkcnn_pc_data_fn)vkcnn_pc_proc(gipa, instance, device, "vkGetPipelineCacheData");
	if (get == NULL) return -3;
	return get(device, cache, size, data);
}

static void vkcnn_destroy_pipeline_cache(void* gipa, void* instance, void* device, uint64_t cache) {
	vkcnn_pc_destroy_fn destroy = (vkcnn_pc_destroy_fn)vkcnn_pc_proc(gipa, instance, device, "vkDestroyPipelineCache");
	if (destroy != NULL) destroy(device, cache, NULL);
}
*/
import "C"

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
)

// pipelineCacheFile is where a device's compiled pipelines are kept
// between runs: one file per device (its pipelineCacheUUID), driver
// version and set of shaders, so that a new driver or binary starts
// afresh instead of loading what it cannot use.
func pipelineCacheFile(dir string, d DeviceInfo, shaderSet string) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%x-%s.bin", hex.EncodeToString(d.cacheUUID[:]), d.DriverVersion, shaderSet))
}

// checkCacheHeader says why data cannot seed d's pipeline cache, if it
// cannot: the header Vulkan puts first (VkPipelineCacheHeaderVersionOne)
// must name this device. Drivers check too, but quietly.
func checkCacheHeader(data []byte, d DeviceInfo) error {
	if len(data) < 32 || binary.LittleEndian.Uint32(data) < 32 || binary.LittleEndian.Uint32(data[4:]) != 1 {
		return errors.New("not a Vulkan pipeline cache")
	}
	if binary.LittleEndian.Uint32(data[8:]) != d.VendorID || binary.LittleEndian.Uint32(data[12:]) != d.DeviceID || [16]byte(data[16:32]) != d.cacheUUID {
		return errors.New("made by another device or driver")
	}
	return nil
}

// openPipelineCache creates the context's pipeline cache, seeded from its
// file where that holds a cache of this device. A missing file starts an
// empty cache; a damaged or foreign one does too, with a warning.
func (c *Context) openPipelineCache(dir, shaderSet string, warn func(error)) error {
	c.cachePath = pipelineCacheFile(dir, c.Info, shaderSet)
	data, err := os.ReadFile(c.cachePath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		warn(fmt.Errorf("pipeline cache %s: %w; starting an empty one", c.cachePath, err))
	}
	if err == nil {
		if bad := checkCacheHeader(data, c.Info); bad != nil {
			warn(fmt.Errorf("pipeline cache %s: %w; starting an empty one", c.cachePath, bad))
			data = nil
		}
	}
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = C.CBytes(data)
		defer C.free(ptr)
	}
	var cache C.uint64_t
	r := C.vkcnn_create_pipeline_cache(procAddr(), unsafe.Pointer(c.inst.handle), unsafe.Pointer(c.device), ptr, C.size_t(len(data)), &cache)
	if err := check("vkCreatePipelineCache", vulkan.Result(r)); err != nil {
		return err
	}
	c.pipelineCache, c.cacheLoaded = uint64(cache), len(data)
	return nil
}

// savePipelineCache writes the cache back to its file, whole or not at all.
func (c *Context) savePipelineCache() error {
	if c.pipelineCache == 0 || c.cachePath == "" {
		return nil
	}
	inst, dev := unsafe.Pointer(c.inst.handle), unsafe.Pointer(c.device)
	var size C.size_t
	if err := check("vkGetPipelineCacheData", vulkan.Result(C.vkcnn_pipeline_cache_data(procAddr(), inst, dev, C.uint64_t(c.pipelineCache), &size, nil))); err != nil {
		return err
	}
	buf := C.malloc(size + 1)
	defer C.free(buf)
	if err := check("vkGetPipelineCacheData", vulkan.Result(C.vkcnn_pipeline_cache_data(procAddr(), inst, dev, C.uint64_t(c.pipelineCache), &size, buf))); err != nil {
		return err
	}
	data := C.GoBytes(buf, C.int(size))
	if err := os.MkdirAll(filepath.Dir(c.cachePath), 0o755); err != nil {
		return fmt.Errorf("save pipeline cache: %w", err)
	}
	return atomicfile.Write(c.cachePath, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func (c *Context) destroyPipelineCache() {
	if c.pipelineCache != 0 {
		C.vkcnn_destroy_pipeline_cache(procAddr(), unsafe.Pointer(c.inst.handle), unsafe.Pointer(c.device), C.uint64_t(c.pipelineCache))
		c.pipelineCache = 0
	}
}

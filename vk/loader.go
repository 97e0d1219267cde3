package vk

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void* vkcnn_library;
static void* vkcnn_get_instance_proc_addr;

// vkcnn_load opens the Vulkan loader at path and returns NULL on success or
// the dynamic linker's message on failure.
static const char* vkcnn_load(const char* path) {
	vkcnn_library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (vkcnn_library == NULL) {
		return dlerror();
	}
	vkcnn_get_instance_proc_addr = dlsym(vkcnn_library, "vkGetInstanceProcAddr");
	if (vkcnn_get_instance_proc_addr == NULL) {
		return "the library has no vkGetInstanceProcAddr";
	}
	return NULL;
}

static void* vkcnn_proc_addr(void) { return vkcnn_get_instance_proc_addr; }
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// DefaultLibrary is the Vulkan loader's soname; the unversioned libvulkan.so
// that vulkan-go would open exists only where development packages are.
const DefaultLibrary = "libvulkan.so.1"

// LibraryEnv overrides the path of the Vulkan loader.
const LibraryEnv = "VKCNN_VULKAN_LIB"

var (
	loadOnce sync.Once
	loadErr  error
)

// loadLoader opens the Vulkan loader once per process and hands its entry
// point to vulkan-go.
func loadLoader() error {
	loadOnce.Do(func() {
		path := DefaultLibrary
		if p := os.Getenv(LibraryEnv); p != "" {
			path = p
		}
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		if msg := C.vkcnn_load(cpath); msg != nil {
			loadErr = fmt.Errorf("cannot load the Vulkan loader %s (%s): install libvulkan1 (./build.sh deps) or set %s", path, C.GoString(msg), LibraryEnv)
			return
		}
		vulkan.SetGetInstanceProcAddr(C.vkcnn_proc_addr())
		if err := vulkan.Init(); err != nil {
			loadErr = fmt.Errorf("initialise Vulkan from %s: %w", path, err)
		}
	})
	return loadErr
}

// procAddr is vkGetInstanceProcAddr, for the queries vulkan-go does not wrap.
func procAddr() unsafe.Pointer { return C.vkcnn_proc_addr() }

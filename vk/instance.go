package vk

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// instance is a VkInstance with, when validating, its debug callback.
type instance struct {
	handle   vulkan.Instance
	debug    uint64 // VkDebugReportCallbackEXT
	validate *validationLog
}

// ErrNoDevice means the loader found no Vulkan driver or device.
var ErrNoDevice = errors.New("no Vulkan device found")

// newInstance creates the instance; with validate, under the validation
// layer, and with sync as well, under its synchronization validation.
func newInstance(validate, sync bool) (*instance, error) {
	if err := loadLoader(); err != nil {
		return nil, err
	}
	inst := &instance{}
	var layers, extensions []string
	if validate {
		if !hasInstanceLayer(validationLayer) {
			return nil, fmt.Errorf("validation requested but %s is not installed (Debian: apt-get install vulkan-validationlayers)", validationLayer)
		}
		layers = append(layers, validationLayer+"\x00")
		extensions = append(extensions, "VK_EXT_debug_report\x00")
		if sync {
			enableSyncValidation()
		}
		inst.validate = newValidationLog()
	}
	app := &vulkan.ApplicationInfo{
		SType:              vulkan.StructureTypeApplicationInfo,
		PApplicationName:   "vkcnn\x00",
		ApplicationVersion: vulkan.MakeVersion(0, 1, 0),
		PEngineName:        "vkcnn\x00",
		EngineVersion:      vulkan.MakeVersion(0, 1, 0),
		ApiVersion:         vulkan.MakeVersion(1, 1, 0),
	}
	info := &vulkan.InstanceCreateInfo{
		SType:                   vulkan.StructureTypeInstanceCreateInfo,
		PApplicationInfo:        app,
		EnabledLayerCount:       uint32(len(layers)),
		PpEnabledLayerNames:     layers,
		EnabledExtensionCount:   uint32(len(extensions)),
		PpEnabledExtensionNames: extensions,
	}
	var debugInfo *vulkan.DebugReportCallbackCreateInfo
	if inst.validate != nil {
		// Chained so that vkCreateInstance's own messages are caught too.
		debugInfo = inst.validate.createInfo()
		ref, _ := debugInfo.PassRef()
		info.PNext = unsafe.Pointer(ref)
	}
	var handle vulkan.Instance
	r := vulkan.CreateInstance(info, nil, &handle)
	info.Free()
	app.Free()
	if r != vulkan.Success {
		if debugInfo != nil {
			debugInfo.Free()
			inst.validate.close()
		}
		if r == vulkan.ErrorIncompatibleDriver {
			return nil, fmt.Errorf("%w: the Vulkan loader found no driver (install mesa-vulkan-drivers for lavapipe, or a GPU driver; VK_LOADER_DEBUG=all shows what it tried)", ErrNoDevice)
		}
		return nil, check("vkCreateInstance", r)
	}
	inst.handle = handle
	if err := vulkan.InitInstance(handle); err != nil {
		vulkan.DestroyInstance(handle, nil)
		return nil, fmt.Errorf("load Vulkan instance functions: %w", err)
	}
	if inst.validate != nil {
		var cb vulkan.DebugReportCallback
		r := vulkan.CreateDebugReportCallback(handle, debugInfo, nil, &cb)
		debugInfo.Free()
		if err := check("vkCreateDebugReportCallbackEXT", r); err != nil {
			inst.close()
			return nil, err
		}
		inst.debug = handleOf(cb)
	}
	return inst, nil
}

func (inst *instance) close() {
	if inst.handle == nil {
		return
	}
	if inst.debug != 0 {
		vulkan.DestroyDebugReportCallback(inst.handle, asHandle[vulkan.DebugReportCallback](inst.debug), nil)
		inst.debug = 0
	}
	vulkan.DestroyInstance(inst.handle, nil)
	inst.handle = nil
}

func hasInstanceLayer(name string) bool {
	_, ok := instanceLayer(name)
	return ok
}

// validationKnowsMatrices reports whether the instance's validation layer
// (where it has one) knows VK_KHR_cooperative_matrix, new in Vulkan
// 1.3.255: an older one (Debian 12's is 1.3.239) reports its structures
// and its shaders' capability as errors.
func (inst *instance) validationKnowsMatrices() bool {
	if inst.validate == nil {
		return true
	}
	version, _ := instanceLayer(validationLayer)
	return version >= vulkan.MakeVersion(1, 3, 255)
}

// Non-dispatchable handles are kept as uint64 in vk's own structs: vulkan-go
// types them as Go pointers, and a driver may return values that Go's
// runtime rejects as pointers. They become vulkan-go types only at a call.
func handleOf[T any](h T) uint64 {
	return *(*uint64)(unsafe.Pointer(&h))
}

func asHandle[T any](h uint64) T {
	return *(*T)(unsafe.Pointer(&h))
}

// syncValidationFeature is the layer's name for synchronization validation.
const syncValidationFeature = "VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT"

// enableSyncValidation asks the validation layer for synchronization
// validation through VK_LAYER_ENABLES, which it reads at vkCreateInstance.
// (Layers 1.3.239 ignored a chained VkValidationFeaturesEXT: a missing
// barrier went unreported; the variable is what they honour.)
func enableSyncValidation() {
	have := os.Getenv("VK_LAYER_ENABLES")
	if !strings.Contains(have, syncValidationFeature) {
		if have != "" {
			have += ","
		}
		os.Setenv("VK_LAYER_ENABLES", have+syncValidationFeature)
	}
}

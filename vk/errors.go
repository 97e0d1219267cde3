package vk

import (
	"errors"
	"fmt"
	"time"

	vulkan "github.com/vulkan-go/vulkan"
)

// Sentinel errors for the results a caller may want to act on.
var (
	ErrOutOfDeviceMemory = errors.New("out of device memory")
	ErrOutOfHostMemory   = errors.New("out of host memory")
	ErrDeviceLost        = errors.New("device lost")
	ErrHang              = errors.New("device hung")
)

// HangError is work the device did not finish within the context's
// watchdog (SetWatchdog): it is taken as hung.
type HangError struct {
	Op     string
	Waited time.Duration
}

func (e *HangError) Error() string {
	return fmt.Sprintf("the device hung: %s did not finish within %s", e.Op, e.Waited)
}

// Is lets errors.Is match ErrHang.
func (e *HangError) Is(target error) bool { return target == ErrHang }

// ResultError is a failed Vulkan call: which operation, and its VkResult.
type ResultError struct {
	Op     string
	Result vulkan.Result
}

func (e *ResultError) Error() string {
	what := map[vulkan.Result]string{
		vulkan.ErrorDeviceLost:        "the device was lost",
		vulkan.ErrorOutOfDeviceMemory: "the device ran out of memory",
		vulkan.ErrorOutOfHostMemory:   "the host ran out of memory",
	}[e.Result]
	if what != "" {
		return fmt.Sprintf("%s (%s in %s)", what, resultName(e.Result), e.Op)
	}
	return fmt.Sprintf("%s: %s", e.Op, resultName(e.Result))
}

// Is lets errors.Is match the sentinels above.
func (e *ResultError) Is(target error) bool {
	switch target {
	case ErrOutOfDeviceMemory:
		return e.Result == vulkan.ErrorOutOfDeviceMemory
	case ErrOutOfHostMemory:
		return e.Result == vulkan.ErrorOutOfHostMemory
	case ErrDeviceLost:
		return e.Result == vulkan.ErrorDeviceLost
	}
	return false
}

// check turns a VkResult into nil or a *ResultError naming op.
func check(op string, r vulkan.Result) error {
	if r == vulkan.Success {
		return nil
	}
	return &ResultError{Op: op, Result: r}
}

func resultName(r vulkan.Result) string {
	switch r {
	case vulkan.NotReady:
		return "VK_NOT_READY"
	case vulkan.Timeout:
		return "VK_TIMEOUT"
	case vulkan.Incomplete:
		return "VK_INCOMPLETE"
	case vulkan.ErrorOutOfHostMemory:
		return "VK_ERROR_OUT_OF_HOST_MEMORY"
	case vulkan.ErrorOutOfDeviceMemory:
		return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
	case vulkan.ErrorInitializationFailed:
		return "VK_ERROR_INITIALIZATION_FAILED"
	case vulkan.ErrorDeviceLost:
		return "VK_ERROR_DEVICE_LOST"
	case vulkan.ErrorMemoryMapFailed:
		return "VK_ERROR_MEMORY_MAP_FAILED"
	case vulkan.ErrorLayerNotPresent:
		return "VK_ERROR_LAYER_NOT_PRESENT"
	case vulkan.ErrorExtensionNotPresent:
		return "VK_ERROR_EXTENSION_NOT_PRESENT"
	case vulkan.ErrorFeatureNotPresent:
		return "VK_ERROR_FEATURE_NOT_PRESENT"
	case vulkan.ErrorIncompatibleDriver:
		return "VK_ERROR_INCOMPATIBLE_DRIVER"
	case vulkan.ErrorTooManyObjects:
		return "VK_ERROR_TOO_MANY_OBJECTS"
	case vulkan.ErrorFragmentedPool:
		return "VK_ERROR_FRAGMENTED_POOL"
	case vulkan.ErrorOutOfPoolMemory:
		return "VK_ERROR_OUT_OF_POOL_MEMORY"
	}
	return fmt.Sprintf("VkResult %d", int32(r))
}

package vk

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// ValidationEnv enables the Khronos validation layer when set to 1, and its
// synchronization validation as well when set to sync.
const ValidationEnv = "VKCNN_VALIDATE"

const validationLayer = "VK_LAYER_KHRONOS_validation"

// ValidationAvailable reports whether the Vulkan loader loads and offers
// the Khronos validation layer.
func ValidationAvailable() bool { return loadLoader() == nil && hasInstanceLayer(validationLayer) }

// validationLog collects what the validation layer reports for one instance.
type validationLog struct {
	mu       sync.Mutex
	messages []string
	// id is the key of this log in sinks, stored in C memory so the
	// callback can find it through pUserData without a Go pointer.
	id *C.uint64_t
}

var (
	sinks      sync.Map // uint64 -> *validationLog
	nextSinkID atomic.Uint64
)

func newValidationLog() *validationLog {
	l := &validationLog{id: (*C.uint64_t)(C.malloc(C.size_t(unsafe.Sizeof(C.uint64_t(0)))))}
	*l.id = C.uint64_t(nextSinkID.Add(1))
	sinks.Store(uint64(*l.id), l)
	return l
}

func (l *validationLog) close() {
	sinks.Delete(uint64(*l.id))
	C.free(unsafe.Pointer(l.id))
	l.id = nil
}

func (l *validationLog) add(msg string) {
	l.mu.Lock()
	l.messages = append(l.messages, msg)
	l.mu.Unlock()
}

// take returns the messages so far as one error, and forgets them.
func (l *validationLog) take() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.messages) == 0 {
		return nil
	}
	err := fmt.Errorf("validation layer: %d message(s): %s", len(l.messages), strings.Join(l.messages, " | "))
	l.messages = nil
	return err
}

// debugReport receives every validation message. vulkan-go keeps a single
// Go callback per process, so the log is found through pUserData.
func debugReport(flags vulkan.DebugReportFlags, _ vulkan.DebugReportObjectType, _ uint64, _ uint, _ int32, prefix, message string, userData unsafe.Pointer) vulkan.Bool32 {
	if userData == nil {
		return vulkan.False
	}
	if l, ok := sinks.Load(uint64(*(*C.uint64_t)(userData))); ok {
		l.(*validationLog).add(fmt.Sprintf("[%s %s] %s", prefix, severity(flags), strings.TrimSpace(message)))
	}
	return vulkan.False
}

func severity(flags vulkan.DebugReportFlags) string {
	switch {
	case flags&vulkan.DebugReportFlags(vulkan.DebugReportErrorBit) != 0:
		return "error"
	case flags&vulkan.DebugReportFlags(vulkan.DebugReportPerformanceWarningBit) != 0:
		return "performance warning"
	default:
		return "warning"
	}
}

// debugReportCreateInfo asks for errors and warnings of every kind.
func (l *validationLog) createInfo() *vulkan.DebugReportCallbackCreateInfo {
	return &vulkan.DebugReportCallbackCreateInfo{
		SType: vulkan.StructureTypeDebugReportCallbackCreateInfo,
		Flags: vulkan.DebugReportFlags(vulkan.DebugReportErrorBit | vulkan.DebugReportWarningBit |
			vulkan.DebugReportPerformanceWarningBit),
		PfnCallback: debugReport,
		PUserData:   unsafe.Pointer(l.id),
	}
}

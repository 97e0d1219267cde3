package vk

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// VK_KHR_pipeline_executable_properties (2019), newer than vulkan-go's
// 1.1.88 headers: its structures by their documented layouts, its
// functions through vkGetDeviceProcAddr.
typedef void (*vkcnn_pep_void_fn)(void);
typedef vkcnn_pep_void_fn (*vkcnn_pep_gipa_fn)(void* instance, const char* name);
typedef vkcnn_pep_void_fn (*vkcnn_pep_gdpa_fn)(void* device, const char* name);
typedef void (*vkcnn_pep_features2_fn)(void* physical, void* out);

typedef struct { uint32_t sType; void* pNext; uint32_t features[64]; } vkcnn_pep_features2;
typedef struct { uint32_t sType; void* pNext; uint32_t pipelineExecutableInfo; } vkcnn_pep_feature;
typedef struct { uint32_t sType; const void* pNext; uint64_t pipeline; } vkcnn_pep_pipeline_info;
typedef struct { uint32_t sType; void* pNext; uint32_t stages; char name[256]; char description[256]; uint32_t subgroupSize; } vkcnn_pep_executable;
typedef struct { uint32_t sType; const void* pNext; uint64_t pipeline; uint32_t executableIndex; } vkcnn_pep_executable_info;
typedef struct {
	uint32_t sType; void* pNext; char name[256]; char description[256]; uint32_t format;
	union { uint32_t b32; int64_t i64; uint64_t u64; double f64; } value;
} vkcnn_pep_statistic;
typedef struct { uint32_t sType; void* pNext; char name[256]; char description[256]; uint32_t isText; size_t dataSize; void* pData; } vkcnn_pep_representation;

typedef int32_t (*vkcnn_pep_executables_fn)(void*, const vkcnn_pep_pipeline_info*, uint32_t*, vkcnn_pep_executable*);
typedef int32_t (*vkcnn_pep_statistics_fn)(void*, const vkcnn_pep_executable_info*, uint32_t*, vkcnn_pep_statistic*);
typedef int32_t (*vkcnn_pep_representations_fn)(void*, const vkcnn_pep_executable_info*, uint32_t*, vkcnn_pep_representation*);

typedef struct {
	vkcnn_pep_executables_fn executables;
	vkcnn_pep_statistics_fn statistics;
	vkcnn_pep_representations_fn representations;
} vkcnn_pep_fns;

// vkcnn_pep_supported reports whether the device offers the feature.
static int vkcnn_pep_supported(void* gipa, void* instance, void* physical) {
	vkcnn_pep_features2_fn feats2 = (vkcnn_pep_features2_fn)((vkcnn_pep_gipa_fn)gipa)(instance, "vkGetPhysicalDeviceFeatures2");
	if (feats2 == NULL) return 0;
	vkcnn_pep_feature pep; memset(&pep, 0, sizeof pep); pep.sType = 1000269000;
	vkcnn_pep_features2 f; memset(&f, 0, sizeof f); f.sType = 1000059000; f.pNext = &pep;
	feats2(physical, &f);
	return pep.pipelineExecutableInfo != 0;
}

static int vkcnn_pep_load(void* gipa, void* instance, void* device, vkcnn_pep_fns* out) {
	vkcnn_pep_gdpa_fn gdpa = (vkcnn_pep_gdpa_fn)((vkcnn_pep_gipa_fn)gipa)(instance, "vkGetDeviceProcAddr");
	if (gdpa == NULL) return 0;
	out->executables = (vkcnn_pep_executables_fn)gdpa(device, "vkGetPipelineExecutablePropertiesKHR");
	out->statistics = (vkcnn_pep_statistics_fn)gdpa(device, "vkGetPipelineExecutableStatisticsKHR");
	out->representations = (vkcnn_pep_representations_fn)gdpa(device, "vkGetPipelineExecutableInternalRepresentationsKHR");
	return out->executables != NULL && out->statistics != NULL && out->representations != NULL;
}

// Each call is the usual two-step enumeration: out NULL asks for the count.
static int32_t vkcnn_pep_executables(vkcnn_pep_fns* f, void* device, uint64_t pipeline, uint32_t* n, vkcnn_pep_executable* out) {
	vkcnn_pep_pipeline_info info; memset(&info, 0, sizeof info); info.sType = 1000269001; info.pipeline = pipeline;
	for (uint32_t i = 0; out != NULL && i < *n; i++) { memset(&out[i], 0, sizeof out[i]); out[i].sType = 1000269002; }
	return f->executables(device, &info, n, out);
}

static int32_t vkcnn_pep_statistics(vkcnn_pep_fns* f, void* device, uint64_t pipeline, uint32_t index, uint32_t* n, vkcnn_pep_statistic* out) {
	vkcnn_pep_executable_info info; memset(&info, 0, sizeof info); info.sType = 1000269003; info.pipeline = pipeline; info.executableIndex = index;
	for (uint32_t i = 0; out != NULL && i < *n; i++) { memset(&out[i], 0, sizeof out[i]); out[i].sType = 1000269004; }
	return f->statistics(device, &info, n, out);
}

// vkcnn_pep_representations fills out's names and sizes when data is NULL,
// else copies each representation into data, at consecutive offsets.
static int32_t vkcnn_pep_representations(vkcnn_pep_fns* f, void* device, uint64_t pipeline, uint32_t index, uint32_t* n, vkcnn_pep_representation* out, char* data) {
	vkcnn_pep_executable_info info; memset(&info, 0, sizeof info); info.sType = 1000269003; info.pipeline = pipeline; info.executableIndex = index;
	if (out == NULL) return f->representations(device, &info, n, NULL);
	size_t offset = 0;
	for (uint32_t i = 0; i < *n; i++) {
		size_t size = out[i].dataSize;
		memset(&out[i], 0, sizeof out[i]);
		out[i].sType = 1000269005;
		if (data != NULL) { out[i].dataSize = size; out[i].pData = data + offset; offset += size; }
	}
	return f->representations(device, &info, n, out);
}

static double vkcnn_pep_value(vkcnn_pep_statistic* s) {
	switch (s->format) {
	case 0: return s->value.b32;
	case 1: return (double)s->value.i64;
	case 2: return (double)s->value.u64;
	}
	return s->value.f64;
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// Pipeline-creation flags of VK_KHR_pipeline_executable_properties.
const (
	captureStatistics              = 0x40
	captureInternalRepresentations = 0x80
)

const pipelineExecutableExtension = "VK_KHR_pipeline_executable_properties"

// Statistic is one figure a driver reports for a compiled shader: VGPRs,
// spills, instruction counts and the like, named as the driver names them.
type Statistic struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Value       float64 `json:"value"`
}

// Executable is one compiled program of a pipeline (a compute pipeline has
// one) with the driver's statistics and internal representations (on
// RADV: NIR, ACO's IR and the ISA).
type Executable struct {
	Name            string
	Description     string
	SubgroupSize    uint32
	Statistics      []Statistic
	Representations []Representation
}

// Representation is one internal representation of an executable.
type Representation struct {
	Name string
	Text string
}

// Compiler is a device opened for compiling pipelines only: no queue work,
// no buffers, so it works on drivers that cannot run work, such as RADV's
// null hardware (RADV_FORCE_FAMILY), a GPU compiler on a machine without
// a GPU.
type Compiler struct {
	ctx *Context
	fns *C.vkcnn_pep_fns // nil where the device offers no statistics
}

// OpenCompiler opens the chosen device for compiling, with pipeline
// statistics where the driver offers them (VK_KHR_pipeline_executable_properties).
func OpenCompiler(opts Options) (*Compiler, error) {
	opts.compileOnly = true
	c, err := Open(opts)
	if err != nil {
		return nil, err
	}
	comp := &Compiler{ctx: c}
	if c.capture != 0 {
		fns := (*C.vkcnn_pep_fns)(C.calloc(1, C.sizeof_vkcnn_pep_fns))
		if C.vkcnn_pep_load(procAddr(), unsafe.Pointer(c.inst.handle), unsafe.Pointer(c.device), fns) == 0 {
			C.free(unsafe.Pointer(fns))
			c.destroy()
			return nil, fmt.Errorf("open %s: the driver lists %s but not its functions", c.Info.Name, pipelineExecutableExtension)
		}
		comp.fns = fns
	}
	return comp, nil
}

// Info describes the compiler's device.
func (comp *Compiler) Info() DeviceInfo { return comp.ctx.Info }

// Statistics reports whether the device reports pipeline statistics.
func (comp *Compiler) Statistics() bool { return comp.fns != nil }

// Close destroys the pipelines, the device and the instance.
func (comp *Compiler) Close() error {
	if comp.fns != nil {
		C.free(unsafe.Pointer(comp.fns))
		comp.fns = nil
	}
	return comp.ctx.Close()
}

// Compile builds the pipeline for spec and returns its executables with
// their statistics (none where the device offers none).
func (comp *Compiler) Compile(spec KernelSpec) ([]Executable, error) {
	k, err := comp.ctx.Kernel(spec)
	if err != nil {
		return nil, err
	}
	if err := comp.ctx.Check(); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	if comp.fns == nil {
		return nil, nil
	}
	exes, err := comp.executables(k.pipeline)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	return exes, nil
}

func (comp *Compiler) executables(pipeline uint64) ([]Executable, error) {
	device := unsafe.Pointer(comp.ctx.device)
	p := C.uint64_t(pipeline)
	var n C.uint32_t
	if err := check("vkGetPipelineExecutablePropertiesKHR", vulkan.Result(C.vkcnn_pep_executables(comp.fns, device, p, &n, nil))); err != nil || n == 0 {
		return nil, err
	}
	props := make([]C.vkcnn_pep_executable, n)
	if err := check("vkGetPipelineExecutablePropertiesKHR", vulkan.Result(C.vkcnn_pep_executables(comp.fns, device, p, &n, &props[0]))); err != nil {
		return nil, err
	}
	exes := make([]Executable, n)
	for i := range exes {
		exes[i] = Executable{
			Name:         C.GoString(&props[i].name[0]),
			Description:  C.GoString(&props[i].description[0]),
			SubgroupSize: uint32(props[i].subgroupSize),
		}
		var err error
		if exes[i].Statistics, err = comp.statistics(p, C.uint32_t(i)); err != nil {
			return nil, err
		}
		if exes[i].Representations, err = comp.representations(p, C.uint32_t(i)); err != nil {
			return nil, err
		}
	}
	return exes, nil
}

func (comp *Compiler) statistics(p C.uint64_t, index C.uint32_t) ([]Statistic, error) {
	device := unsafe.Pointer(comp.ctx.device)
	var n C.uint32_t
	if err := check("vkGetPipelineExecutableStatisticsKHR", vulkan.Result(C.vkcnn_pep_statistics(comp.fns, device, p, index, &n, nil))); err != nil || n == 0 {
		return nil, err
	}
	stats := make([]C.vkcnn_pep_statistic, n)
	if err := check("vkGetPipelineExecutableStatisticsKHR", vulkan.Result(C.vkcnn_pep_statistics(comp.fns, device, p, index, &n, &stats[0]))); err != nil {
		return nil, err
	}
	out := make([]Statistic, n)
	for i := range out {
		out[i] = Statistic{
			Name:        C.GoString(&stats[i].name[0]),
			Description: C.GoString(&stats[i].description[0]),
			Value:       float64(C.vkcnn_pep_value(&stats[i])),
		}
	}
	return out, nil
}

func (comp *Compiler) representations(p C.uint64_t, index C.uint32_t) ([]Representation, error) {
	device := unsafe.Pointer(comp.ctx.device)
	const op = "vkGetPipelineExecutableInternalRepresentationsKHR"
	var n C.uint32_t
	if err := check(op, vulkan.Result(C.vkcnn_pep_representations(comp.fns, device, p, index, &n, nil, nil))); err != nil || n == 0 {
		return nil, err
	}
	// First the sizes, then the data into one C buffer (the structures
	// point into it, so it must not be Go memory).
	reps := make([]C.vkcnn_pep_representation, n)
	if err := check(op, vulkan.Result(C.vkcnn_pep_representations(comp.fns, device, p, index, &n, &reps[0], nil))); err != nil {
		return nil, err
	}
	var total C.size_t
	for i := range reps[:n] {
		total += reps[i].dataSize
	}
	data := (*C.char)(C.malloc(max(total, 1)))
	defer C.free(unsafe.Pointer(data))
	if err := check(op, vulkan.Result(C.vkcnn_pep_representations(comp.fns, device, p, index, &n, &reps[0], data))); err != nil {
		return nil, err
	}
	var out []Representation
	for _, r := range reps[:n] {
		if r.isText == 0 || r.pData == nil {
			continue
		}
		text := C.GoStringN((*C.char)(r.pData), C.int(r.dataSize))
		out = append(out, Representation{Name: C.GoString(&r.name[0]), Text: strings.TrimRight(text, "\x00")})
	}
	return out, nil
}

// offersStatistics reports whether the device offers pipeline statistics.
func (c *Context) offersStatistics() bool {
	return deviceExtensions(c.inst, c.Info.physical)[pipelineExecutableExtension] &&
		C.vkcnn_pep_supported(procAddr(), unsafe.Pointer(c.inst.handle), unsafe.Pointer(c.Info.physical)) != 0
}

// IsNullHardware reports whether the device is RADV's null hardware
// (RADV_FORCE_FAMILY): a GPU compiler that cannot run work.
func (d DeviceInfo) IsNullHardware() bool { return strings.Contains(d.Name, "Null hardware") }

// Statistic returns the value of the named statistic, if the driver
// reports it.
func (e Executable) Statistic(name string) (float64, bool) {
	for _, s := range e.Statistics {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

// ISA returns the executable's disassembly, where the driver gives one
// (RADV: the "Assembly" representation).
func (e Executable) ISA() (string, bool) {
	for _, r := range e.Representations {
		if r.Name == "Assembly" {
			return r.Text, true
		}
	}
	return "", false
}

// Problems says what the statistics show wrong with the executable on the
// device: registers spilled to memory (any statistic named "spill", RADV's
// "Spilled SGPRs" and "Spilled VGPRs"), private memory (RADV's "Scratch
// size": where a register array the compiler cannot keep in registers
// goes, as slow as a spill, and not counted as one) and shared memory past
// the device's limit (RADV's "LDS size"). Statistics the driver does not
// report are not checked.
func (e Executable) Problems(info DeviceInfo) []string {
	var out []string
	for _, s := range e.Statistics {
		if (strings.Contains(strings.ToLower(s.Name), "spill") || s.Name == "Scratch size") && s.Value > 0 {
			out = append(out, fmt.Sprintf("%s: %g", s.Name, s.Value))
		}
	}
	if lds, ok := e.Statistic("LDS size"); ok && lds > float64(info.SharedMemoryBytes) {
		out = append(out, fmt.Sprintf("LDS size: %g bytes, the device has %d", lds, info.SharedMemoryBytes))
	}
	return out
}

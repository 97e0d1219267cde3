package vk

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	vulkan "github.com/vulkan-go/vulkan"
)

// DeviceInfo is what vkcnn needs to know about a physical device.
type DeviceInfo struct {
	Index         int    `json:"index"`
	Name          string `json:"name"`
	Type          string `json:"type"`
	VendorID      uint32 `json:"vendor_id"`
	DeviceID      uint32 `json:"device_id"`
	APIVersion    string `json:"api_version"`
	DriverName    string `json:"driver_name"`
	DriverInfo    string `json:"driver_info"`
	DriverVersion uint32 `json:"driver_version"`
	// Memory is the device's memory table; Placement says in words where
	// buffers go (see PlaceMemory), "" where nothing can be placed;
	// DeviceLocalBytes is the size of the heap device buffers take.
	Memory           MemoryTable `json:"memory"`
	Placement        string      `json:"placement"`
	DeviceLocalBytes uint64      `json:"device_local_bytes"`

	MaxWorkgroupSize        [3]uint32 `json:"max_workgroup_size"`
	MaxWorkgroupInvocations uint32    `json:"max_workgroup_invocations"`
	MaxWorkgroupCount       [3]uint32 `json:"max_workgroup_count"`
	SharedMemoryBytes       uint32    `json:"shared_memory_bytes"`
	MaxStorageBufferRange   uint32    `json:"max_storage_buffer_range"`
	StorageOffsetAlignment  uint64    `json:"storage_offset_alignment"`
	MaxPushConstantsBytes   uint32    `json:"max_push_constants_bytes"`

	SubgroupSize uint32   `json:"subgroup_size"`
	SubgroupOps  []string `json:"subgroup_operations"`
	// MinSubgroupSize..MaxSubgroupSize are the subgroup sizes a kernel
	// can require, with full subgroups (VK_EXT_subgroup_size_control), a
	// workgroup then holding up to MaxWorkgroupSubgroups of them; zero
	// where the device cannot require a size (RequireSubgroup).
	MinSubgroupSize       uint32 `json:"min_subgroup_size"`
	MaxSubgroupSize       uint32 `json:"max_subgroup_size"`
	MaxWorkgroupSubgroups uint32 `json:"max_workgroup_subgroups"`
	Float16               bool   `json:"float16"`
	Storage16Bit          bool   `json:"storage_16bit"`
	// CooperativeMatrices are the matrix products the device's tensor
	// cores run (VK_KHR_cooperative_matrix), none where it has none;
	// Bfloat16 says it takes bf16 in them (VK_KHR_shader_bfloat16).
	CooperativeMatrices []MatrixShape `json:"cooperative_matrices"`
	Bfloat16            bool          `json:"bfloat16"`
	Timestamps          bool          `json:"timestamps"`
	TimestampBits       uint32        `json:"timestamp_valid_bits"`
	// ComputeUnits counts multiprocessors (NVIDIA) or compute units (AMD)
	// where the driver says; 0 where it does not.
	ComputeUnits      uint32  `json:"compute_units"`
	TimestampPeriodNs float32 `json:"timestamp_period_ns"`
	ComputeQueue      bool    `json:"compute_queue"`
	Default           bool    `json:"default"`

	typeRank    int
	queueFamily uint32
	cacheUUID   [16]byte // pipelineCacheUUID
	physical    vulkan.PhysicalDevice
}

// IsLavapipe reports whether the device is Mesa's CPU rasteriser.
func (d DeviceInfo) IsLavapipe() bool {
	return strings.Contains(strings.ToLower(d.Name), "llvmpipe")
}

var mesaVersion = regexp.MustCompile(`Mesa (\d+)\.(\d+)`)

// MesaVersion returns Mesa's major and minor version for Mesa drivers.
func (d DeviceInfo) MesaVersion() (major, minor int, ok bool) {
	m := mesaVersion.FindStringSubmatch(d.DriverInfo)
	if m == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, true
}

// subgroupSizeExtension lets a pipeline require its subgroup size and
// full subgroups (core in Vulkan 1.3; vkcnn asks for Vulkan 1.1).
const subgroupSizeExtension = "VK_EXT_subgroup_size_control"

// RequireSubgroup reports whether a kernel of invocations a workgroup can
// require subgroups of size lanes, all full, and why not: the device must
// let compute pipelines require a size and full subgroups, lanes must be
// within its range, and the workgroup whole subgroups, no more than it
// allows.
func (d DeviceInfo) RequireSubgroup(lanes, invocations uint32) error {
	switch {
	case d.MinSubgroupSize == 0:
		return fmt.Errorf("%s cannot require a subgroup size of compute kernels (no %s with full subgroups)", d.Name, subgroupSizeExtension)
	case lanes < d.MinSubgroupSize || lanes > d.MaxSubgroupSize || lanes&(lanes-1) != 0:
		return fmt.Errorf("%s runs subgroups of %d to %d lanes, not %d", d.Name, d.MinSubgroupSize, d.MaxSubgroupSize, lanes)
	case invocations%lanes != 0 || invocations/lanes > d.MaxWorkgroupSubgroups:
		return fmt.Errorf("%s: a workgroup of %d invocations is not 1 to %d whole subgroups of %d", d.Name, invocations, d.MaxWorkgroupSubgroups, lanes)
	}
	return nil
}

var subgroupOpNames = []string{"basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative", "clustered", "quad"}

func deviceTypeName(t vulkan.PhysicalDeviceType) (string, int) {
	switch t {
	case vulkan.PhysicalDeviceTypeDiscreteGpu:
		return "discrete GPU", 0
	case vulkan.PhysicalDeviceTypeIntegratedGpu:
		return "integrated GPU", 1
	case vulkan.PhysicalDeviceTypeVirtualGpu:
		return "virtual GPU", 2
	case vulkan.PhysicalDeviceTypeCpu:
		return "CPU", 3
	}
	return "other", 4
}

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22, (v>>12)&0x3ff, v&0xfff)
}

// enumerateDevices describes every physical device and marks the default.
func enumerateDevices(inst *instance) ([]DeviceInfo, error) {
	var n uint32
	if err := check("vkEnumeratePhysicalDevices", vulkan.EnumeratePhysicalDevices(inst.handle, &n, nil)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: the Vulkan loader lists no physical device", ErrNoDevice)
	}
	handles := make([]vulkan.PhysicalDevice, n)
	if err := check("vkEnumeratePhysicalDevices", vulkan.EnumeratePhysicalDevices(inst.handle, &n, handles)); err != nil {
		return nil, err
	}
	devices := make([]DeviceInfo, 0, n)
	for i, h := range handles[:n] {
		devices = append(devices, describeDevice(inst, i, h))
	}
	markDefault(devices)
	return devices, nil
}

// markDefault marks the best-ranked device that can run vkcnn's work: one
// with a compute queue and device-local memory, not RADV's null hardware
// (RADV_FORCE_FAMILY), which only compiles. There may be none.
func markDefault(devices []DeviceInfo) {
	def := -1
	for i, d := range devices {
		if d.ComputeQueue && d.DeviceLocalBytes > 0 && !d.IsNullHardware() && (def < 0 || d.typeRank < devices[def].typeRank) {
			def = i
		}
	}
	if def >= 0 {
		devices[def].Default = true
	}
}

func describeDevice(inst *instance, index int, h vulkan.PhysicalDevice) DeviceInfo {
	var props vulkan.PhysicalDeviceProperties
	vulkan.GetPhysicalDeviceProperties(h, &props)
	props.Deref()
	props.Limits.Deref()
	lim := props.Limits

	d := DeviceInfo{
		Index:                   index,
		Name:                    vulkan.ToString(props.DeviceName[:]),
		VendorID:                props.VendorID,
		DeviceID:                props.DeviceID,
		APIVersion:              versionString(props.ApiVersion),
		DriverVersion:           props.DriverVersion,
		MaxWorkgroupSize:        lim.MaxComputeWorkGroupSize,
		MaxWorkgroupInvocations: lim.MaxComputeWorkGroupInvocations,
		MaxWorkgroupCount:       lim.MaxComputeWorkGroupCount,
		SharedMemoryBytes:       lim.MaxComputeSharedMemorySize,
		MaxStorageBufferRange:   lim.MaxStorageBufferRange,
		StorageOffsetAlignment:  uint64(lim.MinStorageBufferOffsetAlignment),
		MaxPushConstantsBytes:   lim.MaxPushConstantsSize,
		TimestampPeriodNs:       lim.TimestampPeriod,
		physical:                h,
		cacheUUID:               props.PipelineCacheUUID,
	}
	d.Type, d.typeRank = deviceTypeName(props.DeviceType)

	d.Memory = memoryTable(h)
	if p, err := PlaceMemory(d.Memory, stagingFromEnv()); err == nil {
		d.Placement = p.String()
		d.DeviceLocalBytes = d.Memory.Heaps[p.DeviceHeap].Bytes
	}

	queues := queueFamilies(inst, h)
	// Prefer a compute queue with timestamps; among those, one without
	// graphics (a dedicated compute queue on GPUs).
	best := -1
	score := func(q queueFamily) int {
		s := 0
		if q.timestampBits > 0 {
			s += 2
		}
		if q.flags&vulkan.QueueFlags(vulkan.QueueGraphicsBit) == 0 {
			s++
		}
		return s
	}
	for i, q := range queues {
		if q.flags&vulkan.QueueFlags(vulkan.QueueComputeBit) == 0 {
			continue
		}
		if best < 0 || score(q) > score(queues[best]) {
			best = i
		}
	}
	if best >= 0 {
		d.ComputeQueue = true
		d.queueFamily = uint32(best)
		d.Timestamps = queues[best].timestampBits > 0 && lim.TimestampPeriod > 0
		d.TimestampBits = queues[best].timestampBits
	}
	if math.IsInf(float64(d.TimestampPeriodNs), 0) { // RADV's null hardware: no clock
		d.TimestampPeriodNs, d.Timestamps = 0, false
	}

	exts := deviceExtensions(inst, h)
	v12 := props.ApiVersion >= vulkan.MakeVersion(1, 2, 0)
	extra := queryExtra(inst.handle, h, v12 || exts["VK_KHR_driver_properties"], v12 || exts["VK_KHR_shader_float16_int8"],
		exts["VK_NV_shader_sm_builtins"], exts["VK_AMD_shader_core_properties"], exts[subgroupSizeExtension])
	d.ComputeUnits = extra.ComputeUnits
	d.SubgroupSize = extra.SubgroupSize
	d.MinSubgroupSize, d.MaxSubgroupSize, d.MaxWorkgroupSubgroups = extra.MinSubgroupSize, extra.MaxSubgroupSize, extra.MaxWorkgroupSubgroups
	for bit, name := range subgroupOpNames {
		if extra.SubgroupOps&(1<<bit) != 0 {
			d.SubgroupOps = append(d.SubgroupOps, name)
		}
	}
	d.Float16 = extra.Float16
	d.Storage16Bit = extra.Storage16
	d.DriverName = extra.DriverName
	d.DriverInfo = extra.DriverInfo
	m := queryMatrices(inst.handle, h, exts)
	d.CooperativeMatrices, d.Bfloat16 = m.shapes, m.bfloat16
	return d
}

// memoryTable reads a device's memory types and heaps.
func memoryTable(h vulkan.PhysicalDevice) MemoryTable {
	var mem vulkan.PhysicalDeviceMemoryProperties
	vulkan.GetPhysicalDeviceMemoryProperties(h, &mem)
	mem.Deref()
	var t MemoryTable
	for i := uint32(0); i < mem.MemoryHeapCount; i++ {
		mem.MemoryHeaps[i].Deref()
		t.Heaps = append(t.Heaps, MemoryHeap{
			Bytes:       uint64(mem.MemoryHeaps[i].Size),
			DeviceLocal: mem.MemoryHeaps[i].Flags&vulkan.MemoryHeapFlags(vulkan.MemoryHeapDeviceLocalBit) != 0,
		})
	}
	for i := uint32(0); i < mem.MemoryTypeCount; i++ {
		mem.MemoryTypes[i].Deref()
		t.Types = append(t.Types, MemoryType{Flags: MemoryFlags(mem.MemoryTypes[i].PropertyFlags), Heap: int(mem.MemoryTypes[i].HeapIndex)})
	}
	return t
}

// ListDevices describes every Vulkan device the loader finds.
func ListDevices() ([]DeviceInfo, error) {
	inst, err := newInstance(false, false)
	if err != nil {
		return nil, err
	}
	defer inst.close()
	return enumerateDevices(inst)
}

// chooseDevice picks by index ("1"), by a case-insensitive name substring,
// or, for "", the default device.
func chooseDevice(devices []DeviceInfo, sel string) (DeviceInfo, error) {
	names := make([]string, len(devices))
	for i, d := range devices {
		names[i] = fmt.Sprintf("%d: %s", d.Index, d.Name)
	}
	sort.Strings(names)
	if sel == "" {
		for _, d := range devices {
			if d.Default {
				return d, nil
			}
		}
		return DeviceInfo{}, fmt.Errorf("no device can run vkcnn's work by default: none has both a compute queue and device memory (devices: %s)", strings.Join(names, ", "))
	}
	var candidates []DeviceInfo
	if i, err := strconv.Atoi(sel); err == nil {
		if i < 0 || i >= len(devices) {
			return DeviceInfo{}, fmt.Errorf("device %d does not exist: there are %d device(s), 0 to %d (see vkcnn devices)", i, len(devices), len(devices)-1)
		}
		candidates = devices[i : i+1]
	} else {
		for _, d := range devices {
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(sel)) {
				candidates = append(candidates, d)
			}
		}
	}
	switch {
	case len(candidates) == 0:
		return DeviceInfo{}, fmt.Errorf("no device matches %q (devices: %s)", sel, strings.Join(names, ", "))
	case len(candidates) > 1:
		return DeviceInfo{}, fmt.Errorf("%q matches %d devices; pick one by index (devices: %s)", sel, len(candidates), strings.Join(names, ", "))
	case !candidates[0].ComputeQueue:
		return DeviceInfo{}, fmt.Errorf("device %d (%s) has no compute queue", candidates[0].Index, candidates[0].Name)
	}
	return candidates[0], nil
}

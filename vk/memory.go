package vk

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/internal/numfmt"
)

// MemoryFlags are a memory type's VkMemoryPropertyFlags.
type MemoryFlags uint32

const (
	DeviceLocal  MemoryFlags = 1
	HostVisible  MemoryFlags = 2
	HostCoherent MemoryFlags = 4
	HostCached   MemoryFlags = 8
)

var memoryFlagNames = []string{"device-local", "host-visible", "host-coherent", "host-cached"}

func (f MemoryFlags) String() string {
	var names []string
	for bit, name := range memoryFlagNames {
		if f&(1<<bit) != 0 {
			names = append(names, name)
		}
	}
	if rest := f &^ (1<<len(memoryFlagNames) - 1); rest != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint32(rest)))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// MarshalText writes the flags by name, for vkcnn devices --json.
func (f MemoryFlags) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

func (f MemoryFlags) has(want MemoryFlags) bool { return f&want == want }

// MemoryType is one of a device's memory types: its properties and heap.
type MemoryType struct {
	Flags MemoryFlags `json:"flags"`
	Heap  int         `json:"heap"`
}

// MemoryHeap is one of a device's memory heaps.
type MemoryHeap struct {
	Bytes       uint64 `json:"bytes"`
	DeviceLocal bool   `json:"device_local"`
}

// MemoryTable is what vkGetPhysicalDeviceMemoryProperties reports.
type MemoryTable struct {
	Types []MemoryType `json:"types"`
	Heaps []MemoryHeap `json:"heaps"`
}

// Placement says which memory types buffers take.
type Placement struct {
	// Mapped: device buffers live in device-local memory that the host
	// maps and writes in place; otherwise uploads go through staging.
	Mapped bool
	// ReadMapped: the mapped device memory is host-cached too, so reads
	// happen in place; otherwise readbacks go through staging, since the
	// CPU reads uncached (BAR) memory slowly.
	ReadMapped bool
	// DeviceTypes and HostTypes list the memory types, best first, of
	// device buffers and of host buffers (staging, per-step values,
	// readbacks); an allocation takes the first its buffer allows.
	DeviceTypes, HostTypes []int
	// DeviceHeap is the heap of the first device type.
	DeviceHeap int
}

// barShare is how much of the largest device-local heap a host-visible
// device-local heap must cover for device buffers to be mapped: unified
// memory and resizable BAR do, a 256 MiB BAR window does not.
const barShare = 0.9

// ErrNoDeviceMemory means a device offers no device-local memory to hold
// buffers (RADV's null hardware, for one).
var ErrNoDeviceMemory = errors.New("no device-local memory")

// PlaceMemory applies vkcnn's one placement rule to a device's memory
// table. Device buffers are mapped only where that is as fast as device
// memory: where a device-local, host-visible, coherent type lives on a
// heap of at least 90% of the largest device-local heap (unified memory:
// integrated GPUs, lavapipe; or resizable BAR). Otherwise, or with staged
// set, device buffers take device-local memory on the large heap (not
// host-visible where the device offers that) and every upload, per-step
// value and readback goes through host memory. Host buffers prefer
// memory that is not device-local (the BAR window is left alone) and
// host-cached (fast readback).
func PlaceMemory(t MemoryTable, staged bool) (Placement, error) {
	var largest uint64
	for _, h := range t.Heaps {
		if h.DeviceLocal {
			largest = max(largest, h.Bytes)
		}
	}
	if largest == 0 {
		return Placement{}, ErrNoDeviceMemory
	}
	large := func(ty MemoryType) bool {
		return ty.Heap < len(t.Heaps) && float64(t.Heaps[ty.Heap].Bytes) >= barShare*float64(largest)
	}
	// rank orders type indices by the first criterion that tells them
	// apart, then by index (the driver's own order).
	rank := func(keep func(MemoryType) bool, better ...func(MemoryType) bool) []int {
		var out []int
		for i, ty := range t.Types {
			if keep(ty) {
				out = append(out, i)
			}
		}
		slices.SortStableFunc(out, func(a, b int) int {
			for _, f := range better {
				if fa, fb := f(t.Types[a]), f(t.Types[b]); fa != fb {
					if fa {
						return -1
					}
					return 1
				}
			}
			return 0
		})
		return out
	}
	cached := func(ty MemoryType) bool { return ty.Flags.has(HostCached) }
	p := Placement{
		HostTypes: rank(func(ty MemoryType) bool { return ty.Flags.has(HostVisible | HostCoherent) },
			func(ty MemoryType) bool { return !ty.Flags.has(DeviceLocal) }, cached),
	}
	if len(p.HostTypes) == 0 {
		return Placement{}, errors.New("no host-visible, coherent memory type")
	}
	if !staged {
		p.DeviceTypes = rank(func(ty MemoryType) bool { return ty.Flags.has(DeviceLocal|HostVisible|HostCoherent) && large(ty) }, cached)
		p.Mapped = len(p.DeviceTypes) > 0
	}
	if !p.Mapped {
		p.DeviceTypes = rank(func(ty MemoryType) bool { return ty.Flags.has(DeviceLocal) && large(ty) },
			func(ty MemoryType) bool { return !ty.Flags.has(HostVisible) })
	}
	if len(p.DeviceTypes) == 0 {
		return Placement{}, ErrNoDeviceMemory
	}
	first := t.Types[p.DeviceTypes[0]]
	p.ReadMapped = p.Mapped && cached(first)
	p.DeviceHeap = first.Heap
	return p, nil
}

// String says in words what the placement does, as vkcnn devices prints it.
func (p Placement) String() string {
	switch {
	case p.ReadMapped:
		return "mapped"
	case p.Mapped:
		return "mapped, staged readbacks"
	}
	return "device memory, staged uploads"
}

// heapUse counts the bytes allocated from each heap, so that an
// allocation a heap cannot hold fails with a clear error instead of being
// attempted.
type heapUse struct {
	heaps []MemoryHeap
	used  []uint64
}

func newHeapUse(t MemoryTable) *heapUse {
	return &heapUse{heaps: t.Heaps, used: make([]uint64, len(t.Heaps))}
}

// take reserves size bytes of heap, or says why it cannot.
func (u *heapUse) take(heap int, size uint64) error {
	h := u.heaps[heap]
	if u.used[heap]+size > h.Bytes {
		return fmt.Errorf("memory heap %d has %s of its %s left, not the %s asked for",
			heap, numfmt.Bytes(int64(h.Bytes-min(h.Bytes, u.used[heap]))), numfmt.Bytes(int64(h.Bytes)), numfmt.Bytes(int64(size)))
	}
	u.used[heap] += size
	return nil
}

func (u *heapUse) give(heap int, size uint64) { u.used[heap] -= min(size, u.used[heap]) }

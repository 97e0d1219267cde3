package vk

import (
	"strings"
	"testing"
)

const (
	gib = 1 << 30
	mib = 1 << 20
	dl  = DeviceLocal
	hv  = HostVisible | HostCoherent
	hc  = HostVisible | HostCoherent | HostCached
)

// Real drivers' memory tables. Types that differ only in what images
// may use are kept, as the drivers list them, since their order matters.
var memoryTables = []struct {
	name  string
	table MemoryTable
	// where device and host buffers must go
	mapped, readMapped bool
	device, host       int
}{
	{
		// The NVIDIA H100 80GB HBM3 lent to this project, driver
		// 580.159.04, as scripts/gpu-check.sh printed it on 2026-11-27
		// (docs/BENCHMARKS.md): a data-center card whose BAR covers the
		// whole VRAM, so its device-local, host-visible type lives on the
		// VRAM heap itself. Not host-cached: readbacks are staged.
		name: "nvidia-h100",
		table: MemoryTable{
			Heaps: []MemoryHeap{{85520809984, true}, {101361423360, false}},
			Types: []MemoryType{{0, 1}, {dl, 0}, {hv, 1}, {hc, 1}, {dl | hv, 0}},
		},
		mapped: true, device: 4, host: 3,
	},
	{
		// RTX 2070 Super without resizable BAR, from the vulkaninfo in
		// iree-org/iree#5268 ("Always requiring HOST_VISIBLE memory causes
		// out of memory on NVIDIA GPU"): 8 GiB of VRAM, 23.5 GiB of system
		// RAM and the 246 MiB BAR window.
		name: "nvidia-turing",
		table: MemoryTable{
			Heaps: []MemoryHeap{{8 * gib, true}, {25235137536, false}, {257949696, true}},
			Types: []MemoryType{{0, 1}, {dl, 0}, {dl, 0}, {dl, 0}, {dl, 0}, {dl, 0}, {dl, 0}, {dl, 0},
				{hv, 1}, {hc, 1}, {dl | hv, 2}},
		},
		device: 1, host: 9,
	},
	{
		// An NVIDIA RTX card with resizable BAR on: the same types, but
		// the device-local, host-visible heap grows to the whole VRAM
		// (Adam Sawicki, "Vulkan Memory Types on PC and How to Use Them",
		// asawicki.info, 2021: "ReBAR ... the heap grows to the entire
		// VRAM").
		name: "nvidia-rebar",
		table: MemoryTable{
			Heaps: []MemoryHeap{{24 * gib, true}, {32 * gib, false}, {24 * gib, true}},
			Types: []MemoryType{{0, 1}, {dl, 0}, {dl, 0}, {hv, 1}, {hc, 1}, {dl | hv, 2}},
		},
		mapped: true, device: 5, host: 4,
	},
	{
		// RADV on RDNA without resizable BAR, from the vulkaninfo in
		// GpuZelenograd/memtest_vulkan#1 (RX 5700: 7.8 GiB of VRAM, 15.6
		// GiB of GTT, a 256 MiB visible window); RDNA3 cards (24 GiB RX
		// 7900 XTX) keep the layout with their own VRAM size.
		name: "amd-rdna3",
		table: MemoryTable{
			Heaps: []MemoryHeap{{24*gib - 256*mib, true}, {31 * gib, false}, {256 * mib, true}},
			Types: []MemoryType{{dl, 0}, {hv, 1}, {dl | hv, 2}, {hc, 1}},
		},
		device: 0, host: 3,
	},
	{
		// The same with Smart Access Memory (resizable BAR), from the same
		// report: the two device-local heaps merge into one 8 GiB heap
		// that the host can map.
		name: "amd-rdna3-sam",
		table: MemoryTable{
			Heaps: []MemoryHeap{{24 * gib, true}, {31 * gib, false}},
			Types: []MemoryType{{dl, 0}, {hv, 1}, {dl | hv, 0}, {hc, 1}},
		},
		mapped: true, device: 2, host: 3,
	},
	{
		// Intel Arc A770 on ANV, which needs resizable BAR: VRAM is one
		// heap the host maps (Sawicki's article above; ANV's heap layout
		// on discrete parts, Mesa src/intel/vulkan/anv_physical_device.c).
		name: "intel-arc",
		table: MemoryTable{
			Heaps: []MemoryHeap{{16 * gib, true}, {31 * gib, false}},
			Types: []MemoryType{{dl, 0}, {hc, 1}, {hv, 1}, {dl | hv, 0}},
		},
		mapped: true, device: 3, host: 1,
	},
	{
		// An Intel integrated GPU on ANV, from the dump in
		// zmike/vkoverhead#39: one heap of system memory, a device-local
		// type and a device-local, host-visible, cached one.
		name: "intel-igpu",
		table: MemoryTable{
			Heaps: []MemoryHeap{{15 * gib, true}},
			Types: []MemoryType{{dl, 0}, {dl | hc, 0}, {dl | hv, 0}},
		},
		mapped: true, readMapped: true, device: 1, host: 1,
	},
	{
		// Mesa's lavapipe (vkcnn devices --json on this machine): one
		// heap, one type that is everything.
		name: "lavapipe",
		table: MemoryTable{
			Heaps: []MemoryHeap{{25276026880, true}},
			Types: []MemoryType{{dl | hc, 0}},
		},
		mapped: true, readMapped: true, device: 0, host: 0,
	},
}

// standardBuffers are the allocations of the standard model at batch 64,
// largest first: parameters, gradients and Adam's moments, the training
// images, conv activations and their gradients.
var standardBuffers = []uint64{
	141782088, 141782088, 141782088, 141782088,
	47040000,
	51380224, 51380224, 51380224, 51380224, 51380224, 25690112, 25690112,
}

func TestMemoryPlacement(t *testing.T) {
	for _, tc := range memoryTables {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlaceMemory(tc.table, false)
			if err != nil {
				t.Fatal(err)
			}
			if p.Mapped != tc.mapped || p.ReadMapped != tc.readMapped {
				t.Errorf("mapped %v, read in place %v; want %v, %v", p.Mapped, p.ReadMapped, tc.mapped, tc.readMapped)
			}
			if p.DeviceTypes[0] != tc.device || p.HostTypes[0] != tc.host {
				t.Errorf("device buffers take type %d, host buffers %d; want %d, %d", p.DeviceTypes[0], p.HostTypes[0], tc.device, tc.host)
			}
			checkTypes(t, tc.table, p)
			// Staged on request: device buffers off every host-visible type
			// where the device has another, never mapped.
			s, err := PlaceMemory(tc.table, true)
			if err != nil {
				t.Fatal(err)
			}
			if s.Mapped || s.ReadMapped {
				t.Error("staged placement maps device buffers")
			}
			checkTypes(t, tc.table, s)
			if f := tc.table.Types[s.DeviceTypes[0]].Flags; f.has(HostVisible) && hasType(tc.table, func(ty MemoryType) bool { return ty.Flags == dl }) {
				t.Errorf("staged device buffers take %s memory though plain device-local memory exists", f)
			}
			// The standard model fits the heap its device buffers go to, and
			// nothing lands on a small device-local window.
			use := newHeapUse(tc.table)
			for _, size := range standardBuffers {
				if err := use.take(p.DeviceHeap, size); err != nil {
					t.Fatalf("device buffer of %d bytes: %v", size, err)
				}
			}
			if err := use.take(tc.table.Types[p.HostTypes[0]].Heap, stagingChunk); err != nil {
				t.Fatalf("staging buffer: %v", err)
			}
			for i, h := range tc.table.Heaps {
				if h.DeviceLocal && h.Bytes < 1*gib && use.used[i] > 0 {
					t.Errorf("%d bytes placed on the %d MiB device-local window (heap %d)", use.used[i], h.Bytes/mib, i)
				}
			}
		})
	}
}

// checkTypes asserts what every placement must hold: device buffers in
// device-local memory on the large heap, host buffers host-visible and
// coherent, mapped device buffers host-visible.
func checkTypes(t *testing.T, table MemoryTable, p Placement) {
	t.Helper()
	for _, i := range p.DeviceTypes {
		f := table.Types[i].Flags
		if !f.has(DeviceLocal) || (p.Mapped && !f.has(hv)) {
			t.Errorf("device buffers may take type %d (%s)", i, f)
		}
		if table.Types[i].Heap != table.Types[p.DeviceTypes[0]].Heap && table.Heaps[table.Types[i].Heap].Bytes < 1*gib {
			t.Errorf("device buffers may take type %d on a small heap", i)
		}
	}
	for _, i := range p.HostTypes {
		if f := table.Types[i].Flags; !f.has(hv) {
			t.Errorf("host buffers may take type %d (%s)", i, f)
		}
	}
	if p.ReadMapped && !table.Types[p.DeviceTypes[0]].Flags.has(HostCached) {
		t.Error("device buffers are read in place from uncached memory")
	}
}

func hasType(table MemoryTable, f func(MemoryType) bool) bool {
	for _, ty := range table.Types {
		if f(ty) {
			return true
		}
	}
	return false
}

func TestHeapUseRefusesWhatAHeapCannotHold(t *testing.T) {
	use := newHeapUse(MemoryTable{Heaps: []MemoryHeap{{256 * mib, true}}})
	if err := use.take(0, 200*mib); err != nil {
		t.Fatal(err)
	}
	err := use.take(0, 100*mib)
	if err == nil || !strings.Contains(err.Error(), "has 56 MiB of its 256 MiB left, not the 100 MiB") {
		t.Fatalf("error %v, want one saying 56 MiB are left", err)
	}
	use.give(0, 200*mib)
	if err := use.take(0, 256*mib); err != nil {
		t.Fatalf("after a free: %v", err)
	}
}

func TestPlaceMemoryWithoutDeviceMemory(t *testing.T) {
	// RADV's null hardware reports a device-local heap of 0 bytes.
	_, err := PlaceMemory(MemoryTable{Heaps: []MemoryHeap{{0, true}}, Types: []MemoryType{{dl, 0}}}, false)
	if err != ErrNoDeviceMemory {
		t.Fatalf("error %v, want %v", err, ErrNoDeviceMemory)
	}
}

func TestMemoryFlagsString(t *testing.T) {
	if got := (dl | hc).String(); got != "device-local|host-visible|host-coherent|host-cached" {
		t.Fatal(got)
	}
	if got := MemoryFlags(0).String(); got != "none" {
		t.Fatal(got)
	}
	if got := MemoryFlags(0x41).String(); got != "device-local|0x40" {
		t.Fatal(got)
	}
}

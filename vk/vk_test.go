package vk

import (
	"errors"
	"strings"
	"testing"

	vulkan "github.com/vulkan-go/vulkan"
)

func open(t *testing.T, opts Options) *Context {
	t.Helper()
	validate, sync := ValidateFromEnv()
	opts.Validate = opts.Validate || validate
	opts.SyncValidation = opts.SyncValidation || sync
	ctx, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func closeClean(t *testing.T, ctx *Context) {
	t.Helper()
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBufferRoundTrip(t *testing.T) {
	for _, staging := range []bool{false, true} {
		ctx := open(t, Options{ForceStaging: staging})
		// Larger than the staging chunk, so staged copies take several steps.
		n := stagingChunk/4 + 1001
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i) * 0.5
		}
		b, err := ctx.NewBuffer(int64(4 * n))
		if err != nil {
			t.Fatal(err)
		}
		if b.Mapped() == staging {
			t.Fatalf("staging=%v but mapped=%v", staging, b.Mapped())
		}
		if err := b.WriteFloat32(0, data); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteFloat32(8, []float32{-7}); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, n)
		if err := b.ReadFloat32(0, got); err != nil {
			t.Fatal(err)
		}
		data[2] = -7
		for i := range data {
			if got[i] != data[i] {
				t.Fatalf("staging=%v: element %d is %g, want %g", staging, i, got[i], data[i])
			}
		}
		if err := b.Write(int64(4*n-2), []byte{1, 2, 3}); err == nil {
			t.Fatal("a write past the end was accepted")
		}
		b.Close()
		b.Close() // a second close is harmless
		if err := b.Write(0, []byte{1}); err == nil {
			t.Fatal("a write to a closed buffer was accepted")
		}
		closeClean(t, ctx)
	}
}

func TestCloseReportsOpenObjects(t *testing.T) {
	ctx := open(t, Options{})
	b, err := ctx.NewBuffer(64)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ctx.NewRecording()
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	_ = b // left open on purpose
	err = ctx.Close()
	if err == nil || !strings.Contains(err.Error(), "1 device buffers still open") {
		t.Fatalf("Close with a buffer open: %v", err)
	}
}

func TestBuffersCloseTogether(t *testing.T) {
	ctx := open(t, Options{})
	var bufs Buffers
	for _, size := range []int64{64, 4096} {
		b, err := bufs.New(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		if b.Size() != size {
			t.Fatalf("a %d-byte buffer has %d", size, b.Size())
		}
	}
	if _, err := bufs.New(ctx, 0); err == nil {
		t.Fatal("a 0-byte buffer was made")
	}
	if len(bufs) != 2 {
		t.Fatalf("%d buffers kept, want 2", len(bufs))
	}
	bufs.Close()
	closeClean(t, ctx)
}

func TestValidationMessagesBecomeErrors(t *testing.T) {
	if validate, _ := ValidateFromEnv(); !validate {
		t.Skip("VKCNN_VALIDATE=1 not set")
	}
	ctx := open(t, Options{})
	// A zero-sized buffer is invalid usage the layer must report.
	info := &vulkan.BufferCreateInfo{
		SType:       vulkan.StructureTypeBufferCreateInfo,
		Size:        0,
		Usage:       vulkan.BufferUsageFlags(vulkan.BufferUsageStorageBufferBit),
		SharingMode: vulkan.SharingModeExclusive,
	}
	var buf vulkan.Buffer
	r := vulkan.CreateBuffer(ctx.device, info, nil, &buf)
	info.Free()
	if r == vulkan.Success && buf != nil {
		vulkan.DestroyBuffer(ctx.device, buf, nil)
	}
	err := ctx.Check()
	if err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("validation error for a zero-sized buffer: %v", err)
	}
	closeClean(t, ctx)
}

func TestChooseDevice(t *testing.T) {
	devices := []DeviceInfo{
		{Index: 0, Name: "llvmpipe (LLVM 15)", ComputeQueue: true},
		{Index: 1, Name: "NVIDIA H100 PCIe", ComputeQueue: true, Default: true},
		{Index: 2, Name: "NVIDIA T4", ComputeQueue: true},
	}
	for sel, want := range map[string]int{"": 1, "0": 0, "2": 2, "llvm": 0, "h100": 1} {
		d, err := chooseDevice(devices, sel)
		if err != nil || d.Index != want {
			t.Errorf("choose %q: device %d, %v; want %d", sel, d.Index, err, want)
		}
	}
	for _, sel := range []string{"99", "-1", "nvidia", "amd"} {
		if _, err := chooseDevice(devices, sel); err == nil {
			t.Errorf("choose %q: no error", sel)
		}
	}
}

func TestOpenRejectsMissingDevice(t *testing.T) {
	_, err := Open(Options{Device: "99"})
	if err == nil || !strings.Contains(err.Error(), "device 99 does not exist") {
		t.Fatalf("open device 99: %v", err)
	}
}

func TestGrid1D(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	maxX := int64(ctx.Info.MaxWorkgroupCount[0])
	for _, n := range []int64{0, 1, maxX, maxX + 1, 3*maxX + 5} {
		g, err := ctx.Grid1D(n)
		if err != nil {
			t.Fatal(err)
		}
		total := int64(g[0]) * int64(g[1]) * int64(g[2])
		if total < n || g[0] > ctx.Info.MaxWorkgroupCount[0] || (n > 0 && total-n >= int64(g[0])) {
			t.Errorf("Grid1D(%d) = %v", n, g)
		}
	}
}

func TestResultErrorMatchesSentinels(t *testing.T) {
	err := check("vkAllocateMemory", vulkan.ErrorOutOfDeviceMemory)
	if !errors.Is(err, ErrOutOfDeviceMemory) || errors.Is(err, ErrDeviceLost) {
		t.Fatalf("%v", err)
	}
	if err.Error() != "the device ran out of memory (VK_ERROR_OUT_OF_DEVICE_MEMORY in vkAllocateMemory)" {
		t.Fatalf("message %q", err)
	}
	if err := check("vkCreateFence", vulkan.ErrorTooManyObjects); err.Error() != "vkCreateFence: VK_ERROR_TOO_MANY_OBJECTS" {
		t.Fatalf("message %q", err)
	}
}

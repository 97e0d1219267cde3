package vk

import (
	"fmt"
	"unsafe"

	"github.com/vkcnn/vkcnn/internal/faults"

	vulkan "github.com/vulkan-go/vulkan"
)

// Buffer is a storage buffer with its own memory. Device buffers live in
// device-local memory, mapped where the placement says so and otherwise
// reached through a staging copy; host buffers are always mapped.
type Buffer struct {
	ctx    *Context
	handle uint64 // VkBuffer
	memory uint64 // VkDeviceMemory
	size   int64
	mapped []byte
	// readMapped: reads copy from the mapping (host-cached memory).
	readMapped bool
	kind       string
	host       bool
	heap       int
	allocated  uint64
}

// stagingChunk bounds the staging buffer and so each copy through it.
const stagingChunk = 32 << 20

const bufferUsage = vulkan.BufferUsageStorageBufferBit | vulkan.BufferUsageTransferSrcBit | vulkan.BufferUsageTransferDstBit

// NewBuffer allocates a device buffer of size bytes.
func (c *Context) NewBuffer(size int64) (*Buffer, error) {
	return c.newBuffer(size, false, "device buffer")
}

// Buffers are the device buffers of one piece of work, closed together:
//
//	var bufs vk.Buffers
//	defer bufs.Close()
//	a, err := bufs.New(ctx, 4*n)
type Buffers []*Buffer

// New allocates a device buffer of size bytes that Close frees.
func (s *Buffers) New(ctx *Context, size int64) (*Buffer, error) {
	b, err := ctx.NewBuffer(size)
	if err != nil {
		return nil, err
	}
	*s = append(*s, b)
	return b, nil
}

// Close frees every buffer New made.
func (s *Buffers) Close() {
	for _, b := range *s {
		b.Close()
	}
	*s = nil
}

// NewHostBuffer allocates a mapped buffer of size bytes in host memory,
// for values the host writes or reads often.
func (c *Context) NewHostBuffer(size int64) (*Buffer, error) {
	return c.newBuffer(size, true, "host buffer")
}

func (c *Context) newBuffer(size int64, host bool, kind string) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("new %s: size %d must be positive", kind, size)
	}
	// Rounded up so that shaders may read the last bytes as a vec4.
	alloc := (size + 15) &^ 15
	info := &vulkan.BufferCreateInfo{
		SType:       vulkan.StructureTypeBufferCreateInfo,
		Size:        vulkan.DeviceSize(alloc),
		Usage:       vulkan.BufferUsageFlags(bufferUsage),
		SharingMode: vulkan.SharingModeExclusive,
	}
	var buf vulkan.Buffer
	r := vulkan.CreateBuffer(c.device, info, nil, &buf)
	info.Free()
	if err := check(fmt.Sprintf("vkCreateBuffer (%s, %d bytes)", kind, size), r); err != nil {
		return nil, err
	}
	b := &Buffer{ctx: c, handle: handleOf(buf), size: size, kind: kind, host: host}
	if err := b.allocate(host); err != nil {
		vulkan.DestroyBuffer(c.device, buf, nil)
		return nil, err
	}
	c.live[kind+"s"]++
	return b, nil
}

func (b *Buffer) allocate(host bool) error {
	c := b.ctx
	var req vulkan.MemoryRequirements
	vulkan.GetBufferMemoryRequirements(c.device, asHandle[vulkan.Buffer](b.handle), &req)
	req.Deref()
	types, mapped, readMapped := c.placement.DeviceTypes, c.placement.Mapped, c.placement.ReadMapped
	if host {
		types, mapped, readMapped = c.placement.HostTypes, true, true
	}
	typeIndex := -1
	for _, i := range types {
		if req.MemoryTypeBits&(1<<i) != 0 {
			typeIndex = i
			break
		}
	}
	if typeIndex < 0 {
		return fmt.Errorf("allocate %s: none of the memory types %v suits it (the buffer allows 0x%x)", b.kind, types, req.MemoryTypeBits)
	}
	heap := c.Info.Memory.Types[typeIndex].Heap
	if err := c.heaps.take(heap, uint64(req.Size)); err != nil {
		return fmt.Errorf("allocate %s of %d bytes: %w", b.kind, b.size, err)
	}
	info := &vulkan.MemoryAllocateInfo{
		SType:           vulkan.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: uint32(typeIndex),
	}
	var mem vulkan.DeviceMemory
	r := vulkan.AllocateMemory(c.device, info, nil, &mem)
	info.Free()
	if faults.At(faults.Alloc, "") == faults.OOM && r == vulkan.Success {
		vulkan.FreeMemory(c.device, mem, nil)
		r = vulkan.ErrorOutOfDeviceMemory
	}
	if err := check(fmt.Sprintf("vkAllocateMemory (%s, %d bytes)", b.kind, b.size), r); err != nil {
		c.heaps.give(heap, uint64(req.Size))
		return err
	}
	free := func() {
		vulkan.FreeMemory(c.device, mem, nil)
		c.heaps.give(heap, uint64(req.Size))
	}
	if err := check("vkBindBufferMemory", vulkan.BindBufferMemory(c.device, asHandle[vulkan.Buffer](b.handle), mem, 0)); err != nil {
		free()
		return err
	}
	if mapped {
		var ptr unsafe.Pointer
		if err := check("vkMapMemory", vulkan.MapMemory(c.device, mem, 0, req.Size, 0, &ptr)); err != nil {
			free()
			return err
		}
		b.mapped = unsafe.Slice((*byte)(ptr), b.size)
		b.readMapped = readMapped
	}
	b.memory = handleOf(mem)
	b.heap, b.allocated = heap, uint64(req.Size)
	return nil
}

// Host reports whether the buffer lives in host memory (NewHostBuffer).
func (b *Buffer) Host() bool { return b.host }

// Size is the buffer's size in bytes as requested.
func (b *Buffer) Size() int64 { return b.size }

// Mapped reports whether the host writes the buffer in place (and reads
// it in place too where its memory is host-cached).
func (b *Buffer) Mapped() bool { return b.mapped != nil }

// Close frees the buffer; it is safe to call twice.
func (b *Buffer) Close() {
	if b == nil || b.handle == 0 {
		return
	}
	c := b.ctx
	if c.fault == nil { // else abandoned with the device (Context.Close)
		vulkan.DestroyBuffer(c.device, asHandle[vulkan.Buffer](b.handle), nil)
		if b.mapped != nil {
			vulkan.UnmapMemory(c.device, asHandle[vulkan.DeviceMemory](b.memory))
		}
		vulkan.FreeMemory(c.device, asHandle[vulkan.DeviceMemory](b.memory), nil)
	}
	b.mapped = nil
	c.heaps.give(b.heap, b.allocated)
	b.handle, b.memory = 0, 0
	c.live[b.kind+"s"]--
}

func (b *Buffer) checkRange(op string, offset int64, n int) error {
	if b.handle == 0 {
		return fmt.Errorf("%s: buffer is closed", op)
	}
	if offset < 0 || offset+int64(n) > b.size {
		return fmt.Errorf("%s: bytes [%d, %d) outside a %d-byte buffer", op, offset, offset+int64(n), b.size)
	}
	return nil
}

// Write copies data into the buffer at offset. The device must not be
// using the buffer (every submission here waits for its end).
func (b *Buffer) Write(offset int64, data []byte) error {
	if err := b.checkRange("write buffer", offset, len(data)); err != nil {
		return err
	}
	if b.mapped != nil {
		copy(b.mapped[offset:], data)
		return nil
	}
	return b.ctx.throughStaging(data, func(staging *Buffer, n int64, done int64) error {
		copy(staging.mapped, data[done:done+n])
		return b.ctx.runOnce(func(cmd vulkan.CommandBuffer) {
			b.ctx.copyBuffer(cmd, staging, 0, b, offset+done, n)
		})
	})
}

// Read copies bytes from the buffer at offset into out.
func (b *Buffer) Read(offset int64, out []byte) error {
	if err := b.checkRange("read buffer", offset, len(out)); err != nil {
		return err
	}
	if b.readMapped {
		copy(out, b.mapped[offset:])
		return nil
	}
	return b.ctx.throughStaging(out, func(staging *Buffer, n int64, done int64) error {
		err := b.ctx.runOnce(func(cmd vulkan.CommandBuffer) {
			b.ctx.copyBuffer(cmd, b, offset+done, staging, 0, n)
		})
		copy(out[done:done+n], staging.mapped[:n])
		return err
	})
}

// WriteFloat32 writes float32 values at a byte offset.
func (b *Buffer) WriteFloat32(offset int64, data []float32) error {
	return b.Write(offset, float32Bytes(data))
}

// ReadFloat32 reads len(out) float32 values from a byte offset.
func (b *Buffer) ReadFloat32(offset int64, out []float32) error {
	return b.Read(offset, float32Bytes(out))
}

// WriteUint32 writes uint32 values at a byte offset.
func (b *Buffer) WriteUint32(offset int64, data []uint32) error {
	return b.Write(offset, uint32Bytes(data))
}

// ReadUint32 reads len(out) uint32 values from a byte offset.
func (b *Buffer) ReadUint32(offset int64, out []uint32) error {
	return b.Read(offset, uint32Bytes(out))
}

func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func uint32Bytes(v []uint32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// throughStaging calls step for each chunk of data that fits the context's
// staging buffer, which it creates on first use.
func (c *Context) throughStaging(data []byte, step func(staging *Buffer, n, done int64) error) error {
	if c.staging == nil {
		s, err := c.newBuffer(stagingChunk, true, "staging buffer")
		if err != nil {
			return err
		}
		c.live[s.kind+"s"]-- // owned by the context, not a caller
		c.staging = s
	}
	for done := int64(0); done < int64(len(data)); {
		n := min(int64(len(data))-done, stagingChunk)
		if err := step(c.staging, n, done); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// copyBuffer records a transfer and makes it visible to later shader,
// transfer and host accesses.
func (c *Context) copyBuffer(cmd vulkan.CommandBuffer, src *Buffer, srcOff int64, dst *Buffer, dstOff int64, n int64) {
	c.calls.copy(cmd, src.handle, dst.handle, srcOff, dstOff, n)
	c.calls.memoryBarrier(cmd, vulkan.PipelineStageTransferBit, vulkan.AccessTransferWriteBit,
		vulkan.PipelineStageComputeShaderBit|vulkan.PipelineStageTransferBit|vulkan.PipelineStageHostBit,
		vulkan.AccessShaderReadBit|vulkan.AccessShaderWriteBit|vulkan.AccessTransferReadBit|vulkan.AccessTransferWriteBit|vulkan.AccessHostReadBit)
}

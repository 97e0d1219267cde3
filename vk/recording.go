package vk

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	vulkan "github.com/vulkan-go/vulkan"
)

// Range is a byte range of a buffer bound to a kernel. A zero Size means
// "to the end of the buffer".
type Range struct {
	Buf    *Buffer
	Offset int64
	Size   int64
}

// Whole binds all of b.
func Whole(b *Buffer) Range { return Range{Buf: b} }

func (r Range) size() int64 {
	if r.Size == 0 {
		return r.Buf.size - r.Offset
	}
	return r.Size
}

// Recording is a command buffer of dispatches, recorded once and run as
// often as wanted. It inserts the barriers that dependent dispatches need:
// a dispatch that reads or writes a buffer an earlier one wrote since the
// last barrier, or writes one that was read, waits for that work.
type Recording struct {
	ctx         *Context
	cmd         vulkan.CommandBuffer
	pools       []uint64 // VkDescriptorPool
	setsInPool  int
	queryPool   uint64 // VkQueryPool, 0 without timestamps
	queries     int
	written     map[uint64]bool
	read        map[uint64]bool
	ended       bool
	dispatches  int
	barriers    int
	timestamps  []uint64
	timestampOK bool
}

const (
	setsPerPool   = 256
	maxTimestamps = 512
)

// ErrNoTimestamps means the device's queue cannot time work.
var ErrNoTimestamps = errors.New("the device's compute queue has no timestamps")

// NewRecording starts an empty recording.
func (c *Context) NewRecording() (*Recording, error) {
	cmd, err := c.allocateCommandBuffer()
	if err != nil {
		return nil, err
	}
	r := &Recording{ctx: c, cmd: cmd, written: map[uint64]bool{}, read: map[uint64]bool{}}
	c.live["recordings"]++
	if c.Info.Timestamps {
		info := &vulkan.QueryPoolCreateInfo{
			SType:      vulkan.StructureTypeQueryPoolCreateInfo,
			QueryType:  vulkan.QueryTypeTimestamp,
			QueryCount: maxTimestamps,
		}
		var pool vulkan.QueryPool
		res := vulkan.CreateQueryPool(c.device, info, nil, &pool)
		info.Free()
		if err := check("vkCreateQueryPool", res); err != nil {
			r.Close()
			return nil, err
		}
		r.queryPool = handleOf(pool)
	}
	begin := &vulkan.CommandBufferBeginInfo{SType: vulkan.StructureTypeCommandBufferBeginInfo}
	res := vulkan.BeginCommandBuffer(cmd, begin)
	begin.Free()
	if err := check("vkBeginCommandBuffer", res); err != nil {
		r.Close()
		return nil, err
	}
	if r.queryPool != 0 {
		vulkan.CmdResetQueryPool(cmd, asHandle[vulkan.QueryPool](r.queryPool), 0, maxTimestamps)
	}
	return r, nil
}

// Dispatch records kernel k over groups workgroups with push constants
// push and args bound in order.
func (r *Recording) Dispatch(k *Kernel, groups [3]uint32, push []uint32, args ...Range) error {
	if r.ended {
		return fmt.Errorf("dispatch %s: the recording has ended", k.spec.Name)
	}
	if err := r.checkDispatch(k, groups, push, args); err != nil {
		return fmt.Errorf("dispatch %s: %w", k.spec.Name, err)
	}
	if groups[0] == 0 || groups[1] == 0 || groups[2] == 0 {
		return nil
	}
	set, err := r.allocateSet(k)
	if err != nil {
		return fmt.Errorf("dispatch %s: %w", k.spec.Name, err)
	}
	c := r.ctx
	for i, a := range args {
		c.calls.bindBuffer(c.device, handleOf(set), i, a.Buf.handle, a.Offset, descriptorRange(a))
	}

	r.barrierFor(k, args)
	vulkan.CmdBindPipeline(r.cmd, vulkan.PipelineBindPointCompute, asHandle[vulkan.Pipeline](k.pipeline))
	layout := asHandle[vulkan.PipelineLayout](k.pipelineLayout)
	vulkan.CmdBindDescriptorSets(r.cmd, vulkan.PipelineBindPointCompute, layout, 0, 1, []vulkan.DescriptorSet{set}, 0, nil)
	if len(push) > 0 {
		vulkan.CmdPushConstants(r.cmd, layout, vulkan.ShaderStageFlags(vulkan.ShaderStageComputeBit), 0, uint32(4*len(push)), unsafe.Pointer(&push[0]))
	}
	vulkan.CmdDispatch(r.cmd, groups[0], groups[1], groups[2])
	r.dispatches++
	return nil
}

// descriptorRange rounds a binding up to whole vec4s where the buffer has
// room (buffers are allocated in multiples of 16 bytes) so shaders may
// read their last element through a vec4 view.
func descriptorRange(a Range) int64 {
	n := (a.size() + 15) &^ 15
	alloc := (a.Buf.size + 15) &^ 15
	return min(n, alloc-a.Offset)
}

func (r *Recording) checkDispatch(k *Kernel, groups [3]uint32, push []uint32, args []Range) error {
	info := r.ctx.Info
	if len(args) != len(k.spec.Bindings) {
		return fmt.Errorf("%d buffers bound, the kernel has %d bindings", len(args), len(k.spec.Bindings))
	}
	if len(push) != k.spec.PushWords {
		return fmt.Errorf("%d push-constant words, the kernel takes %d", len(push), k.spec.PushWords)
	}
	for i, g := range groups {
		if g > info.MaxWorkgroupCount[i] {
			return fmt.Errorf("grid %v exceeds the device's maximum workgroup count %v", groups, info.MaxWorkgroupCount)
		}
	}
	for i, a := range args {
		if a.Buf == nil || a.Buf.handle == 0 {
			return fmt.Errorf("binding %d: no open buffer", i)
		}
		size := a.size()
		if a.Offset < 0 || size <= 0 || a.Offset+size > a.Buf.size {
			return fmt.Errorf("binding %d: bytes [%d, %d) outside a %d-byte buffer", i, a.Offset, a.Offset+size, a.Buf.size)
		}
		if align := int64(info.StorageOffsetAlignment); align > 0 && a.Offset%align != 0 {
			return fmt.Errorf("binding %d: offset %d is not a multiple of the device's storage alignment %d", i, a.Offset, align)
		}
		if descriptorRange(a) > int64(info.MaxStorageBufferRange) {
			return fmt.Errorf("binding %d: %d bytes exceed the device's storage-buffer range of %d bytes", i, size, info.MaxStorageBufferRange)
		}
	}
	return nil
}

// barrierFor waits for earlier dispatches where k's accesses conflict with
// theirs, then notes k's accesses.
func (r *Recording) barrierFor(k *Kernel, args []Range) {
	accesses := make([]access, len(args))
	for i, a := range args {
		accesses[i] = access{a.Buf.handle, k.spec.Bindings[i].writes()}
	}
	r.order(accesses)
}

// access is a buffer that recorded work reads or writes.
type access struct {
	buf    uint64
	writes bool
}

// order records a barrier where work with these accesses conflicts with
// work since the last barrier (a read or write after a write, a write
// after a read), then notes the accesses. One barrier kind covers shader
// and transfer work alike.
func (r *Recording) order(accesses []access) {
	need := false
	for _, a := range accesses {
		if r.written[a.buf] || (a.writes && r.read[a.buf]) {
			need = true
		}
	}
	if need {
		r.ctx.calls.memoryBarrier(r.cmd, vulkan.PipelineStageComputeShaderBit|vulkan.PipelineStageTransferBit, vulkan.AccessShaderWriteBit|vulkan.AccessTransferWriteBit,
			vulkan.PipelineStageComputeShaderBit|vulkan.PipelineStageTransferBit,
			vulkan.AccessShaderReadBit|vulkan.AccessShaderWriteBit|vulkan.AccessTransferReadBit|vulkan.AccessTransferWriteBit)
		clear(r.written)
		clear(r.read)
		r.barriers++
	}
	for _, a := range accesses {
		if a.writes {
			r.written[a.buf] = true
		} else {
			r.read[a.buf] = true
		}
	}
}

// Copy records a copy of src into dst, ordered after earlier work on
// either buffer and before later work: a staged upload of per-step values
// at the start of a recording, say.
func (r *Recording) Copy(src, dst Range) error {
	if r.ended {
		return errors.New("copy: the recording has ended")
	}
	n := src.size()
	for _, x := range []Range{src, dst} {
		if err := x.Buf.checkRange("copy", x.Offset, int(x.size())); err != nil {
			return err
		}
	}
	if dst.size() != n {
		return fmt.Errorf("copy: %d bytes into a range of %d", n, dst.size())
	}
	r.order([]access{{src.Buf.handle, false}, {dst.Buf.handle, true}})
	r.ctx.calls.copy(r.cmd, src.Buf.handle, dst.Buf.handle, src.Offset, dst.Offset, n)
	return nil
}

func (r *Recording) allocateSet(k *Kernel) (vulkan.DescriptorSet, error) {
	c := r.ctx
	if len(r.pools) == 0 || r.setsInPool == setsPerPool {
		info := &vulkan.DescriptorPoolCreateInfo{
			SType:         vulkan.StructureTypeDescriptorPoolCreateInfo,
			MaxSets:       setsPerPool,
			PoolSizeCount: 1,
			PPoolSizes: []vulkan.DescriptorPoolSize{{
				Type:            vulkan.DescriptorTypeStorageBuffer,
				DescriptorCount: setsPerPool * 16,
			}},
		}
		var pool vulkan.DescriptorPool
		res := vulkan.CreateDescriptorPool(c.device, info, nil, &pool)
		info.Free()
		if err := check("vkCreateDescriptorPool", res); err != nil {
			return nil, err
		}
		r.pools = append(r.pools, handleOf(pool))
		r.setsInPool = 0
	}
	if len(k.spec.Bindings) > 16 {
		return nil, fmt.Errorf("%d bindings; at most 16 are supported", len(k.spec.Bindings))
	}
	info := &vulkan.DescriptorSetAllocateInfo{
		SType:              vulkan.StructureTypeDescriptorSetAllocateInfo,
		DescriptorPool:     asHandle[vulkan.DescriptorPool](r.pools[len(r.pools)-1]),
		DescriptorSetCount: 1,
		PSetLayouts:        []vulkan.DescriptorSetLayout{asHandle[vulkan.DescriptorSetLayout](k.setLayout)},
	}
	var set vulkan.DescriptorSet
	res := vulkan.AllocateDescriptorSets(c.device, info, &set)
	info.Free()
	if err := check("vkAllocateDescriptorSets", res); err != nil {
		return nil, err
	}
	r.setsInPool++
	return set, nil
}

// Timestamp records the time at which all earlier work has finished and
// returns its index for Elapsed.
func (r *Recording) Timestamp() (int, error) {
	if r.queryPool == 0 {
		return 0, ErrNoTimestamps
	}
	if r.ended {
		return 0, errors.New("timestamp: the recording has ended")
	}
	if r.queries == maxTimestamps {
		return 0, fmt.Errorf("timestamp: at most %d per recording", maxTimestamps)
	}
	vulkan.CmdWriteTimestamp(r.cmd, vulkan.PipelineStageBottomOfPipeBit, asHandle[vulkan.QueryPool](r.queryPool), uint32(r.queries))
	r.queries++
	return r.queries - 1, nil
}

// Timestamps is the number of timestamps recorded.
func (r *Recording) Timestamps() int { return r.queries }

// Dispatches is the number of dispatches recorded; Barriers the number of
// barriers inserted between them.
func (r *Recording) Dispatches() int { return r.dispatches }
func (r *Recording) Barriers() int   { return r.barriers }

func (r *Recording) end() error {
	if r.ended {
		return nil
	}
	// Make every write visible to whatever comes next: host reads, copies
	// and later submissions.
	r.ctx.calls.memoryBarrier(r.cmd, vulkan.PipelineStageComputeShaderBit|vulkan.PipelineStageTransferBit, vulkan.AccessShaderWriteBit|vulkan.AccessTransferWriteBit,
		vulkan.PipelineStageComputeShaderBit|vulkan.PipelineStageTransferBit|vulkan.PipelineStageHostBit,
		vulkan.AccessShaderReadBit|vulkan.AccessShaderWriteBit|vulkan.AccessTransferReadBit|vulkan.AccessHostReadBit)
	r.ended = true
	return check("vkEndCommandBuffer", vulkan.EndCommandBuffer(r.cmd))
}

// Run ends the recording if needed, submits it and waits for it.
func (r *Recording) Run() error {
	if err := r.Start(); err != nil {
		return err
	}
	return r.Wait()
}

// Start ends the recording if needed and submits it, returning while the
// device runs it, so that the host can work meanwhile: it may write only
// memory the recording does not touch. Wait waits for it; a submission
// made before then (a transfer through staging, another recording) waits
// for it first.
func (r *Recording) Start() error {
	if r.cmd == nil {
		return errors.New("run: the recording is closed")
	}
	if err := r.end(); err != nil {
		return err
	}
	r.timestampOK = false
	return r.ctx.start(r.cmd, "the recorded work")
}

// Wait waits for the recording that Start submitted.
func (r *Recording) Wait() error { return r.ctx.wait() }

// Elapsed is the device time between timestamps from and to of the last
// run.
func (r *Recording) Elapsed(from, to int) (time.Duration, error) {
	if r.queryPool == 0 {
		return 0, ErrNoTimestamps
	}
	if !r.timestampOK {
		if r.queries == 0 {
			return 0, errors.New("elapsed: no timestamps recorded")
		}
		r.timestamps = make([]uint64, r.queries)
		flags := vulkan.QueryResultFlags(vulkan.QueryResult64Bit | vulkan.QueryResultWaitBit)
		res := vulkan.GetQueryPoolResults(r.ctx.device, asHandle[vulkan.QueryPool](r.queryPool), 0, uint32(r.queries),
			uint(8*r.queries), unsafe.Pointer(&r.timestamps[0]), 8, flags)
		if err := check("vkGetQueryPoolResults", res); err != nil {
			return 0, err
		}
		r.timestampOK = true
	}
	if from < 0 || to >= r.queries || from > to {
		return 0, fmt.Errorf("elapsed: timestamps %d..%d outside 0..%d", from, to, r.queries-1)
	}
	ticks := float64(timestampTicks(r.timestamps[from], r.timestamps[to], r.ctx.Info.TimestampBits))
	return time.Duration(ticks * float64(r.ctx.Info.TimestampPeriodNs)), nil
}

// timestampTicks is the count from one timestamp to a later one. Only the
// low validBits bits of a timestamp count (36 on some Intel parts), and
// the counter may wrap between the two.
func timestampTicks(from, to uint64, validBits uint32) uint64 {
	mask := ^uint64(0)
	if validBits < 64 {
		mask = 1<<validBits - 1
	}
	return (to - from) & mask
}

// Close frees the command buffer, descriptor sets and queries.
func (r *Recording) Close() {
	if r == nil || r.cmd == nil {
		return
	}
	c := r.ctx
	if c.fault == nil { // else abandoned with the device (Context.Close)
		vulkan.FreeCommandBuffers(c.device, asHandle[vulkan.CommandPool](c.commandPool), 1, []vulkan.CommandBuffer{r.cmd})
		for _, p := range r.pools {
			vulkan.DestroyDescriptorPool(c.device, asHandle[vulkan.DescriptorPool](p), nil)
		}
		if r.queryPool != 0 {
			vulkan.DestroyQueryPool(c.device, asHandle[vulkan.QueryPool](r.queryPool), nil)
		}
	}
	r.cmd, r.pools, r.queryPool = nil, nil, 0
	c.live["recordings"]--
}

// Grid1D spreads n workgroups over a 2-D grid within the device's limits;
// shaders recover the flat index as y*gl_NumWorkGroups.x + x and skip any
// index past their work.
func (c *Context) Grid1D(n int64) ([3]uint32, error) {
	maxX, maxY := int64(c.Info.MaxWorkgroupCount[0]), int64(c.Info.MaxWorkgroupCount[1])
	if n <= maxX {
		return [3]uint32{uint32(max(n, 0)), 1, 1}, nil
	}
	y := (n + maxX - 1) / maxX
	if y > maxY {
		return [3]uint32{}, fmt.Errorf("%d workgroups exceed the device's grid of %dx%d", n, maxX, maxY)
	}
	return [3]uint32{uint32(maxX), uint32(y), 1}, nil
}

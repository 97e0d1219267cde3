package vk

import (
	"time"

	"github.com/vkcnn/vkcnn/internal/faults"

	vulkan "github.com/vulkan-go/vulkan"
)

// fenceWaitStep bounds each wait so that a lost device is noticed.
const fenceWaitStep = time.Second

// submit runs one command buffer on the queue and waits for it to finish,
// for at most the watchdog: past it the device is taken as hung, and a
// lost or hung device ends the context's work.
func (c *Context) submit(cmd vulkan.CommandBuffer, op string) error {
	if err := c.start(cmd, op); err != nil {
		return err
	}
	return c.wait()
}

// start submits one command buffer on the queue and returns while it
// runs; wait waits for it. One submission is in flight at a time: start
// waits for the one before.
func (c *Context) start(cmd vulkan.CommandBuffer, op string) error {
	if c.inFlight != "" {
		if err := c.wait(); err != nil {
			return err
		}
	}
	if c.fault != nil {
		return c.fault
	}
	r := c.calls.submit(c.queue, cmd, c.fence)
	if faults.At(faults.Submit, "") == faults.Lost {
		r = vulkan.ErrorDeviceLost
	}
	if err := c.noteFault(check("vkQueueSubmit", r)); err != nil {
		return err
	}
	c.inFlight = op
	return nil
}

// wait waits for the submission in flight (none: returns at once).
func (c *Context) wait() error {
	op := c.inFlight
	if op == "" {
		return nil
	}
	c.inFlight = ""
	fence := asHandle[vulkan.Fence](c.fence)
	hang := faults.At(faults.Wait, "") == faults.Hang // a fence that never signals
	start := time.Now()
	for {
		waited := time.Since(start)
		if waited >= c.watchdog {
			c.fault = &HangError{Op: op, Waited: c.watchdog}
			return c.fault
		}
		r := vulkan.WaitForFences(c.device, 1, []vulkan.Fence{fence}, vulkan.True, uint64(min(fenceWaitStep, c.watchdog-waited)))
		if hang && r == vulkan.Success {
			time.Sleep(min(fenceWaitStep, c.watchdog-waited))
			r = vulkan.Timeout
		}
		if r == vulkan.Timeout {
			continue
		}
		if err := c.noteFault(check("vkWaitForFences", r)); err != nil {
			return err
		}
		break
	}
	return check("vkResetFences", vulkan.ResetFences(c.device, 1, []vulkan.Fence{fence}))
}

// runOnce records a one-time command buffer with record, runs it and
// waits.
func (c *Context) runOnce(record func(cmd vulkan.CommandBuffer)) error {
	cmd, err := c.allocateCommandBuffer()
	if err != nil {
		return err
	}
	pool := asHandle[vulkan.CommandPool](c.commandPool)
	defer func() {
		if c.fault == nil {
			vulkan.FreeCommandBuffers(c.device, pool, 1, []vulkan.CommandBuffer{cmd})
		}
	}()
	begin := &vulkan.CommandBufferBeginInfo{
		SType: vulkan.StructureTypeCommandBufferBeginInfo,
		Flags: vulkan.CommandBufferUsageFlags(vulkan.CommandBufferUsageOneTimeSubmitBit),
	}
	r := vulkan.BeginCommandBuffer(cmd, begin)
	begin.Free()
	if err := check("vkBeginCommandBuffer", r); err != nil {
		return err
	}
	record(cmd)
	if err := check("vkEndCommandBuffer", vulkan.EndCommandBuffer(cmd)); err != nil {
		return err
	}
	return c.submit(cmd, "a transfer")
}

func (c *Context) allocateCommandBuffer() (vulkan.CommandBuffer, error) {
	info := &vulkan.CommandBufferAllocateInfo{
		SType:              vulkan.StructureTypeCommandBufferAllocateInfo,
		CommandPool:        asHandle[vulkan.CommandPool](c.commandPool),
		Level:              vulkan.CommandBufferLevelPrimary,
		CommandBufferCount: 1,
	}
	cmds := make([]vulkan.CommandBuffer, 1)
	r := vulkan.AllocateCommandBuffers(c.device, info, cmds)
	info.Free()
	if err := check("vkAllocateCommandBuffers", r); err != nil {
		return nil, err
	}
	return cmds[0], nil
}

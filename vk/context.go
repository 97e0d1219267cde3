package vk

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	vulkan "github.com/vulkan-go/vulkan"
)

// Options choose and configure a device.
type Options struct {
	// Device is an index or a case-insensitive name substring; "" picks
	// the default (discrete GPU, then integrated, virtual, CPU).
	Device string
	// Validate enables the Khronos validation layer; every warning or
	// error it reports is returned by Check and Close.
	Validate bool
	// SyncValidation adds the layer's synchronization validation (missing
	// or wrong barriers) to Validate, which it implies.
	SyncValidation bool
	// ForceStaging copies through a staging buffer even where device
	// memory is host-visible, so that the GPU path is tested on lavapipe.
	// StagingEnv=1 sets it too.
	ForceStaging bool
	// PipelineCacheDir, where set, keeps compiled pipelines between runs
	// in a file per device, driver version and ShaderSet (a name for the
	// binary's shaders). Warn receives what goes wrong with it: a cache is
	// never a reason to fail.
	PipelineCacheDir, ShaderSet string
	Warn                        func(error)
	// Watchdog bounds the wait for any submission: past it the device is
	// taken as hung (HangError). Zero means DefaultWatchdog; SetWatchdog
	// raises it for longer work.
	Watchdog time.Duration

	compileOnly bool // see OpenCompiler
}

// DefaultWatchdog is the least time vkcnn waits for a submission before it
// takes the device as hung: generous, since lavapipe takes a minute or
// two for a step of the standard model.
const DefaultWatchdog = 10 * time.Minute

// StagingEnv, set to 1, forces staged uploads and readbacks on any device:
// a debugging switch that runs a discrete GPU's path on lavapipe.
const StagingEnv = "VKCNN_STAGING"

func stagingFromEnv() bool { return os.Getenv(StagingEnv) == "1" }

// Placement is where the context puts buffers.
func (c *Context) Placement() Placement { return c.placement }

// ValidateFromEnv reports whether VKCNN_VALIDATE is 1 (validate) or sync
// (validate, synchronization too).
func ValidateFromEnv() (validate, sync bool) {
	v := os.Getenv(ValidationEnv)
	return v == "1" || v == "sync", v == "sync"
}

// Context is an open device with one compute queue. It owns the kernels
// it compiled; buffers and recordings belong to whoever created them and
// must be closed before the context.
type Context struct {
	Info DeviceInfo

	inst      *instance
	device    vulkan.Device
	queue     vulkan.Queue
	placement Placement
	heaps     *heapUse
	// The pipeline cache, its file, the bytes it started from, and the
	// pipelines built and the time that took.
	pipelineCache uint64
	cachePath     string
	cacheLoaded   int
	pipelines     int
	pipelineTime  time.Duration
	warn          func(error)
	commandPool   uint64
	fence         uint64
	staging       *Buffer
	kernels       map[string]*Kernel
	live          map[string]int // open buffers and recordings, by kind

	// watchdog bounds each wait for a submission, never below
	// watchdogBase; fault is the lost or hung device that ended the
	// context's work (nil while it works).
	watchdog, watchdogBase time.Duration
	fault                  error
	calls                  calls // the calls made around vulkan-go
	// inFlight names the submission the fence waits for ("": none).
	inFlight string

	compileOnly bool                       // no fence, no queue work: see OpenCompiler
	capture     vulkan.PipelineCreateFlags // statistics capture, where compiling only
}

// Open creates a context on the chosen device.
func Open(opts Options) (*Context, error) {
	inst, err := newInstance(opts.Validate || opts.SyncValidation, opts.SyncValidation)
	if err != nil {
		return nil, err
	}
	c := &Context{inst: inst, compileOnly: opts.compileOnly, warn: opts.Warn, kernels: map[string]*Kernel{}, live: map[string]int{}}
	if c.warn == nil {
		c.warn = func(error) {}
	}
	c.watchdogBase = cmp.Or(opts.Watchdog, DefaultWatchdog)
	c.watchdog = c.watchdogBase
	if err := c.open(opts); err != nil {
		c.destroy()
		return nil, err
	}
	return c, nil
}

func (c *Context) open(opts Options) error {
	devices, err := enumerateDevices(c.inst)
	if err != nil {
		return err
	}
	if c.calls, err = lookupCalls(c.inst.handle); err != nil {
		return err
	}
	c.Info, err = chooseDevice(devices, opts.Device)
	if err != nil {
		return err
	}
	if len(c.Info.CooperativeMatrices) > 0 && !c.inst.validationKnowsMatrices() {
		c.warn(fmt.Errorf("the validation layer predates VK_KHR_cooperative_matrix (Vulkan 1.3.255): %s's cooperative matrices are off under validation", c.Info.Name))
		c.Info.CooperativeMatrices, c.Info.Bfloat16 = nil, false
	}
	// A compiler makes no buffers, and the null hardware has no memory.
	if !opts.compileOnly {
		if c.placement, err = PlaceMemory(c.Info.Memory, opts.ForceStaging || stagingFromEnv()); err != nil {
			return fmt.Errorf("open %s: %w", c.Info.Name, err)
		}
		c.Info.Placement = c.placement.String()
	}
	c.heaps = newHeapUse(c.Info.Memory)

	queueInfo := vulkan.DeviceQueueCreateInfo{
		SType:            vulkan.StructureTypeDeviceQueueCreateInfo,
		QueueFamilyIndex: c.Info.queueFamily,
		QueueCount:       1,
		PQueuePriorities: []float32{1},
	}
	info := &vulkan.DeviceCreateInfo{
		SType:                vulkan.StructureTypeDeviceCreateInfo,
		QueueCreateInfoCount: 1,
		PQueueCreateInfos:    []vulkan.DeviceQueueCreateInfo{queueInfo},
	}
	statistics := c.compileOnly && c.offersStatistics()
	if statistics {
		c.capture = captureStatistics | captureInternalRepresentations
	}
	defer c.enableFeatures(info, statistics)()
	var device vulkan.Device
	r := vulkan.CreateDevice(c.Info.physical, info, nil, &device)
	info.Free()
	if err := check("vkCreateDevice", r); err != nil {
		return fmt.Errorf("open %s: %w", c.Info.Name, err)
	}
	c.device = device
	var queue vulkan.Queue
	vulkan.GetDeviceQueue(device, c.Info.queueFamily, 0, &queue)
	c.queue = queue
	if c.compileOnly {
		return c.Check()
	}

	poolInfo := &vulkan.CommandPoolCreateInfo{
		SType:            vulkan.StructureTypeCommandPoolCreateInfo,
		Flags:            vulkan.CommandPoolCreateFlags(vulkan.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: c.Info.queueFamily,
	}
	var pool vulkan.CommandPool
	r = vulkan.CreateCommandPool(device, poolInfo, nil, &pool)
	poolInfo.Free()
	if err := check("vkCreateCommandPool", r); err != nil {
		return err
	}
	c.commandPool = handleOf(pool)

	fenceInfo := &vulkan.FenceCreateInfo{SType: vulkan.StructureTypeFenceCreateInfo}
	var fence vulkan.Fence
	r = vulkan.CreateFence(device, fenceInfo, nil, &fence)
	fenceInfo.Free()
	if err := check("vkCreateFence", r); err != nil {
		return err
	}
	c.fence = handleOf(fence)
	if opts.PipelineCacheDir != "" {
		if err := c.openPipelineCache(opts.PipelineCacheDir, opts.ShaderSet, c.warn); err != nil {
			c.warn(fmt.Errorf("pipeline cache: %w; compiling without one", err))
		}
	}
	return c.Check()
}

// PipelineStats says how many pipelines the context built and the time
// that took, and its pipeline cache: the file ("" without one) and how
// many bytes of it the cache started from (0: cold).
func (c *Context) PipelineStats() (built int, took time.Duration, cache string, loaded int) {
	return c.pipelines, c.pipelineTime, c.cachePath, c.cacheLoaded
}

// Check returns, and forgets, what the validation layer reported so far.
func (c *Context) Check() error {
	if c.inst == nil || c.inst.validate == nil {
		return nil
	}
	return c.inst.validate.take()
}

// Validating reports whether the validation layer is on.
func (c *Context) Validating() bool { return c.inst != nil && c.inst.validate != nil }

// SetWatchdog sets how long a submission may take before the device is
// taken as hung: d, but never less than Options.Watchdog.
func (c *Context) SetWatchdog(d time.Duration) { c.watchdog = max(c.watchdogBase, d) }

// Warn passes a note on to Options.Warn: something the user should know
// that is no reason to fail.
func (c *Context) Warn(err error) { c.warn(err) }

// noteFault remembers a lost device as the context's fault, and returns
// err.
func (c *Context) noteFault(err error) error {
	if errors.Is(err, ErrDeviceLost) && c.fault == nil {
		c.fault = err
	}
	return err
}

// Close destroys the context's objects, the device and the instance. It
// reports buffers or recordings left open and any validation message,
// including the layer's report of objects that were never destroyed.
// After a lost or hung device it abandons them instead, for the process
// to end soon after: nothing waits on the device again, and destroying
// what a hung device still runs could take the driver down with it.
func (c *Context) Close() error {
	if c.inst == nil {
		return nil
	}
	if c.fault != nil {
		c.inst = nil
		return nil
	}
	var leaks []string
	for kind, n := range c.live {
		if n > 0 {
			leaks = append(leaks, fmt.Sprintf("%d %s", n, kind))
		}
	}
	sort.Strings(leaks)
	err := c.destroy()
	if len(leaks) > 0 {
		err = errors.Join(fmt.Errorf("context closed with %s still open", strings.Join(leaks, ", ")), err)
	}
	return err
}

func (c *Context) destroy() error {
	if c.device != nil {
		if !c.compileOnly { // RADV's null hardware crashes waiting
			vulkan.DeviceWaitIdle(c.device)
		}
		if c.staging != nil {
			c.staging.Close()
			c.staging = nil
		}
		if err := c.savePipelineCache(); err != nil {
			c.warn(fmt.Errorf("pipeline cache %s not saved: %w", c.cachePath, err))
		}
		for key, k := range c.kernels {
			k.destroy()
			delete(c.kernels, key)
		}
		c.destroyPipelineCache()
		if c.fence != 0 {
			vulkan.DestroyFence(c.device, asHandle[vulkan.Fence](c.fence), nil)
			c.fence = 0
		}
		if c.commandPool != 0 {
			vulkan.DestroyCommandPool(c.device, asHandle[vulkan.CommandPool](c.commandPool), nil)
			c.commandPool = 0
		}
		vulkan.DestroyDevice(c.device, nil)
		c.device = nil
	}
	inst := c.inst
	c.inst = nil
	inst.close()
	if inst.validate != nil {
		err := inst.validate.take()
		inst.validate.close()
		return err
	}
	return nil
}

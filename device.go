package vkcnn

import (
	"os"
	"path/filepath"
	"time"

	"github.com/vkcnn/vkcnn/shaders"
	"github.com/vkcnn/vkcnn/vk"
)

// DeviceInfo describes a Vulkan device: its name, type, memory, subgroup
// and cooperative-matrix properties, and whether it is the default.
type DeviceInfo = vk.DeviceInfo

// Devices lists the machine's Vulkan devices, as vkcnn devices does.
func Devices() ([]DeviceInfo, error) { return vk.ListDevices() }

// DeviceOptions choose and set up a device. The zero value opens the
// default device, without validation or a pipeline cache.
type DeviceOptions struct {
	// Device is an index or a case-insensitive name substring (as
	// --device); "" picks the default: discrete GPU, then integrated,
	// virtual, CPU, among those with device memory.
	Device string
	// Validate enables the Khronos validation layer: any message it
	// reports becomes an error; SyncValidation adds its synchronization
	// checks.
	Validate, SyncValidation bool
	// Watchdog is how long work may take before the device is taken as
	// hung (ErrHang); zero is vk.DefaultWatchdog.
	Watchdog time.Duration
	// PipelineCacheDir, where set, keeps compiled pipelines between
	// programs (DefaultPipelineCacheDir is the command's).
	PipelineCacheDir string
	// Warn receives what costs speed but not the work (a pipeline cache
	// or a tuning cache that cannot be read); nil drops it.
	Warn func(error)
}

// Device is an open Vulkan device. Close it when done; it is not safe for
// concurrent use (a Predictor is).
type Device struct {
	ctx  *vk.Context
	warn func(error)
}

// OpenDevice opens the device opts choose. VKCNN_VALIDATE=1 (or sync)
// turns validation on as it does for the command.
func OpenDevice(opts DeviceOptions) (*Device, error) {
	validate, sync := vk.ValidateFromEnv()
	opts.Validate, opts.SyncValidation = opts.Validate || validate, opts.SyncValidation || sync
	warn := opts.Warn
	if warn == nil {
		warn = func(error) {}
	}
	ctx, err := vk.Open(vk.Options{Device: opts.Device, Validate: opts.Validate, SyncValidation: opts.SyncValidation,
		Watchdog: opts.Watchdog, PipelineCacheDir: opts.PipelineCacheDir, ShaderSet: shaders.SetHash(), Warn: warn})
	if err != nil {
		return nil, err
	}
	return &Device{ctx: ctx, warn: warn}, nil
}

// Info describes the device.
func (d *Device) Info() DeviceInfo { return d.ctx.Info }

// Context is the device's vk.Context, for callers that drive the nn
// package themselves.
func (d *Device) Context() *vk.Context { return d.ctx }

// Close releases the device. It returns what validation reported and any
// object left open.
func (d *Device) Close() error { return d.ctx.Close() }

// PipelineCacheEnv names the folder of the command's pipeline cache, or
// turns it off ("off").
const PipelineCacheEnv = "VKCNN_PIPELINE_CACHE"

// DefaultPipelineCacheDir is where the vkcnn command keeps compiled
// pipelines: $VKCNN_PIPELINE_CACHE ("off": nowhere, ""), else
// vkcnn/pipelines in the user's cache folder.
func DefaultPipelineCacheDir() string {
	switch dir := os.Getenv(PipelineCacheEnv); dir {
	case "off":
		return ""
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(base, "vkcnn", "pipelines")
	default:
		return dir
	}
}

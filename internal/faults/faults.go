// Package faults injects the faults a GPU or a disk brings, so that tests
// on lavapipe can see how vkcnn answers them: a lost device, a fence that
// never signals, a failed allocation, a full disk, a process killed while
// it writes a file. Only a binary built with the faultinject tag injects
// anything, as VKCNN_FAULT says; the release binary's At is a constant
// that the compiler removes, so no variable of the environment can make
// it fail.
package faults

// Action is what a fault point does.
type Action int

const (
	None    Action = iota
	Lost           // the Vulkan call returns VK_ERROR_DEVICE_LOST
	Hang           // the fence never signals
	OOM            // the allocation returns VK_ERROR_OUT_OF_DEVICE_MEMORY
	NoSpace        // the write fails with ENOSPC
	IOError        // the write fails with EIO
	Kill           // the process is killed (SIGKILL) there and then
)

// The fault points: where vk and the file writer ask At.
const (
	Submit  = "submit"  // vkQueueSubmit
	Wait    = "wait"    // vkWaitForFences
	Alloc   = "alloc"   // vkAllocateMemory
	Write   = "write"   // a file's contents written, not yet flushed
	Rename  = "rename"  // a file's temporary copy complete, not yet renamed
	Renamed = "renamed" // a file renamed into place, its folder not yet synced
)

// Env is the variable a faultinject binary reads: POINT:N:ACTION, or
// POINT:N:ACTION:FILE for a file point, the fault striking at the Nth
// call of the point (of the file named FILE, by its base name), counted
// from 1. For example submit:7:lost, wait:3:hang, alloc:20:oom,
// write:2:nospace:checkpoint.safetensors, rename:1:kill.
const Env = "VKCNN_FAULT"

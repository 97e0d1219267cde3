// Package vktest opens Vulkan contexts for tests: on the default device,
// with the validation layer when VKCNN_VALIDATE=1, and failing the test on
// any validation message or object left open.
package vktest

import (
	"os"
	"testing"

	"github.com/vkcnn/vkcnn/vk"
)

// Open returns a context closed at the end of the test, validated as
// VKCNN_VALIDATE says.
func Open(t testing.TB) *vk.Context {
	return OpenWith(t, vk.Options{})
}

// OpenWith is Open with options; the environment can add validation.
func OpenWith(t testing.TB, opts vk.Options) *vk.Context {
	t.Helper()
	validate, sync := vk.ValidateFromEnv()
	opts.Validate = opts.Validate || validate
	opts.SyncValidation = opts.SyncValidation || sync
	ctx, err := vk.Open(opts)
	if err != nil {
		t.Fatalf("open Vulkan: %v", err)
	}
	t.Cleanup(func() {
		if err := ctx.Close(); err != nil {
			t.Errorf("close Vulkan: %v", err)
		}
	})
	return ctx
}

// Check fails the test on validation messages reported so far.
func Check(t testing.TB, ctx *vk.Context) {
	t.Helper()
	if err := ctx.Check(); err != nil {
		t.Fatal(err)
	}
}

// RequireGPU skips a test sized for a GPU (products of thousands a side,
// the standard model at batch 64) on a CPU device, where it would take
// minutes; VKCNN_GPU_TESTS=1 runs it there too, to check the test itself.
func RequireGPU(t testing.TB, info vk.DeviceInfo) {
	t.Helper()
	if info.Type == "CPU" && os.Getenv("VKCNN_GPU_TESTS") != "1" {
		t.Skipf("sized for a GPU; %s is a CPU device (VKCNN_GPU_TESTS=1 runs it anyway)", info.Name)
	}
}

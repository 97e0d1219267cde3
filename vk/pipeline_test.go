package vk

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vkcnn/vkcnn/shaders"
)

// Pipelines are created while garbage collections run back to back: the
// create info must not be freed by a finalizer during the call (as
// vulkan-go's own vkCreateComputePipelines wrapper allows).
func TestPipelineCreationSurvivesGC(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	code, err := shaders.SPIRV("conv_fwd_tiled")
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	defer func() {
		stop.Store(true)
		<-done
	}()
	for bk := uint32(1); bk <= 16; bk++ {
		// Tiles of 16x16 by depth bk, 2x2 a thread: a distinct pipeline each.
		spec := []uint32{16, 16, bk, 2, 2, 1, 1, 0, 0, 64}
		if _, err := ctx.Kernel(KernelSpec{Name: "conv_fwd_tiled", Code: code, Bindings: []Access{Read, Read, Write, Read}, PushWords: 10, Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
}

package vk

import (
	"runtime"
	"strings"
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

// A kernel that needs a subgroup size is built requiring it, with full
// subgroups, at each size the device can give (under VKCNN_VALIDATE the
// layer checks the request), and refused, before the driver sees it, at
// sizes it cannot give or with a workgroup of part of a subgroup.
func TestKernelRequiresItsSubgroupSize(t *testing.T) {
	ctx := open(t, Options{})
	defer closeClean(t, ctx)
	code, err := shaders.SPIRV("fill")
	if err != nil {
		t.Fatal(err)
	}
	info := ctx.Info
	if info.MinSubgroupSize == 0 {
		t.Skipf("%s cannot require a subgroup size", info.Name)
	}
	kernel := func(lanes, workgroup uint32) error {
		_, err := ctx.Kernel(KernelSpec{Name: "fill", Code: code, Bindings: []Access{Write}, PushWords: 2, Spec: []uint32{workgroup},
			Subgroup: lanes, Workgroup: workgroup})
		return err
	}
	for lanes := info.MinSubgroupSize; lanes <= info.MaxSubgroupSize; lanes *= 2 {
		if err := kernel(lanes, 4*lanes); err != nil {
			t.Errorf("%d lanes: %v", lanes, err)
		}
		if err := kernel(lanes, lanes+1); err == nil || !strings.Contains(err.Error(), "whole subgroups") {
			t.Errorf("%d lanes in a workgroup of %d: %v, want a refusal", lanes, lanes+1, err)
		}
	}
	for _, lanes := range []uint32{info.MinSubgroupSize / 2, 2 * info.MaxSubgroupSize} {
		if err := kernel(lanes, 4*info.MaxSubgroupSize); err == nil || !strings.Contains(err.Error(), "lanes, not") {
			t.Errorf("%d lanes: %v, want a refusal", lanes, err)
		}
	}
	if err := ctx.Check(); err != nil {
		t.Fatal(err)
	}
}

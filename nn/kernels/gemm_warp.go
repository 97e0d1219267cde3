package kernels

import (
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// warpStyle is Warp: the GPU kernels (warp_tile.glsl). They tile the
// workgroup's tile of C (BM x BN, depth BK) by warp tiles (WM x WN) and
// those by 4x4 register blocks (WMIter x WNIter an invocation), fetch
// vec4s into registers a K-step ahead and pad shared memory.
type warpStyle struct{}

// The warp body's fixed register arrays and unrolled loop (warp_tile.glsl's
// MAX_BLOCKS, MAX_KUNROLL).
const (
	warpMaxBlocks = 4
	warpMaxDepth  = 32
)

func (warpStyle) String() string { return "warp" }

func (warpStyle) matrix() bool { return false }

func (warpStyle) staged() bool { return true }

func (warpStyle) check(v GemmVariant, _ vk.DeviceInfo, _ bool) (matrixInstance, error) {
	if err := v.warpShape(); err != nil {
		return matrixInstance{}, fmt.Errorf("GEMM variant %s: %w", v.Name, err)
	}
	return matrixInstance{}, nil
}

// warpShape checks what the warp body assumes of a tile: whole warp tiles
// and register blocks, no more blocks than its registers hold, a depth
// its unrolled loop takes, and stagingShape's.
func (v GemmVariant) warpShape() error {
	if v.WM == 0 || v.WN == 0 || v.WMIter == 0 || v.WNIter == 0 || v.WM%(4*v.WMIter) != 0 || v.WN%(4*v.WNIter) != 0 {
		return fmt.Errorf("warp tiles of %dx%d with %dx%d blocks of 4x4 do not divide a tile of %dx%d", v.WM, v.WN, v.WMIter, v.WNIter, v.BM, v.BN)
	}
	if v.WMIter > warpMaxBlocks || v.WNIter > warpMaxBlocks {
		return fmt.Errorf("%dx%d register blocks an invocation; the shader holds up to %dx%d", v.WMIter, v.WNIter, warpMaxBlocks, warpMaxBlocks)
	}
	if v.BK > warpMaxDepth {
		return fmt.Errorf("a depth of %d; it must be 4, 8, 16 or 32", v.BK)
	}
	return v.stagingShape(v.workgroup(matrixInstance{}))
}

func (warpStyle) tile(v GemmVariant) (rows, cols uint32) { return v.BM, v.BN }

// workgroup: the warp tiles' invocations, each of a register block.
func (warpStyle) workgroup(v GemmVariant, _ matrixInstance) uint32 {
	return v.warps() * (v.WM / (4 * v.WMIter)) * (v.WN / (4 * v.WNIter))
}

func (warpStyle) subgroup(GemmVariant, matrixInstance) (lanes, invocations uint32) { return 0, 0 }

// sharedBytes: the A and B tiles, padded by a vec4 a row.
func (warpStyle) sharedBytes(v GemmVariant, _ matrixInstance, _ Precision) uint32 {
	return 4 * (v.BM + 4 + v.BN + 4) * v.BK
}

// specialize: the tile at ids 0-4, the flags after it, the workgroup size
// at 9, the register blocks at 10 and 11 and the depth of the unrolled k
// loop at 12.
func (s warpStyle) specialize(v GemmVariant, info vk.DeviceInfo, _ Precision, flags []uint32) (string, []uint32, matrixInstance) {
	return s.String(), tileSpec([5]uint32{v.BM, v.BN, v.BK, v.WM, v.WN}, flags, s.workgroup(v, matrixInstance{}), v.WMIter, v.WNIter, unroll(v, info)), matrixInstance{}
}

// unroll is how many k a warp kernel's inner loop unrolls (KUNROLL): all
// of a K-step on GPUs (10% faster on an H100 than 4), 4 on CPUs, where
// lavapipe's LLVM takes 4-7 s to compile the full unroll of a pipeline.
func unroll(v GemmVariant, info vk.DeviceInfo) uint32 {
	if info.Type == "CPU" {
		return 4
	}
	return v.BK
}

package kernels

import (
	"fmt"

	"github.com/vkcnn/vkcnn/vk"
)

// matrixStyle is Matrix: kernels that stage tiles as the warp kernels do,
// converted to bf16, and multiply them on cooperative matrices (tensor
// cores), or on their plain-GLSL emulation where the device has none
// (matrix_body.glsl): the bf16 and bf16x3 precisions. A variant's warp
// tile (WM x WN), a subgroup's, is in fragments of the device's shape.
type matrixStyle struct{}

// The matrix body's fixed fragment arrays (matrix_body.glsl's MAX_FM,
// MAX_FN, MAX_KF) and the emulation's accumulator (matrix_emu_ops.glsl's
// MAX_E).
const (
	matrixMaxFrags = 4
	matrixMaxSteps = 4
	emulatedMaxE   = 8
)

// String is the shaders' suffix before the instance's.
func (matrixStyle) String() string { return "coopmat" }

func (matrixStyle) matrix() bool { return true }

func (matrixStyle) staged() bool { return true }

// check: the device's matrix instance, the tile's shape on it, and the
// subgroups its cooperative matrices need.
func (s matrixStyle) check(v GemmVariant, info vk.DeviceInfo, compile bool) (matrixInstance, error) {
	inst, err := runnable(info, compile)
	if err != nil {
		return inst, fmt.Errorf("GEMM variant %s: %w", v.Name, err)
	}
	if err := v.matrixShape(inst); err != nil {
		return inst, fmt.Errorf("GEMM variant %s: %w", v.Name, err)
	}
	if lanes, wg := s.subgroup(v, inst); lanes != 0 {
		if err := info.RequireSubgroup(lanes, wg); err != nil {
			return inst, fmt.Errorf("GEMM variant %s: its cooperative matrices need subgroups of %d lanes: %w", v.Name, lanes, err)
		}
	}
	return inst, nil
}

// matrixShape checks what the matrix body assumes of a tile on an
// instance: warp tiles of whole fragments, no more than its arrays hold,
// fragments whose rows are whole vec4s (the epilogue) and whose shared
// offsets are whole uints (two elements each); in the emulation, an
// accumulator's share a lane holds within a row; and stagingShape's.
func (v GemmVariant) matrixShape(inst matrixInstance) error {
	tm, tn, tk := inst.tm, inst.tn, inst.tk
	if tm == 0 || tn == 0 || tk == 0 || tm%4 != 0 || tn%4 != 0 || tk%4 != 0 {
		return fmt.Errorf("fragments of %dx%dx%d; the shader takes multiples of 4", tm, tn, tk)
	}
	if v.WM == 0 || v.WN == 0 || v.WM%tm != 0 || v.WN%tn != 0 || v.BK%tk != 0 {
		return fmt.Errorf("warp tiles of %dx%d and a depth of %d are not whole fragments of %dx%dx%d", v.WM, v.WN, v.BK, tm, tn, tk)
	}
	if v.WM/tm > matrixMaxFrags || v.WN/tn > matrixMaxFrags || v.BK/tk > matrixMaxSteps {
		return fmt.Errorf("%dx%d fragments a subgroup, %d a K-step; the shader holds up to %dx%d and %d", v.WM/tm, v.WN/tn, v.BK/tk, matrixMaxFrags, matrixMaxFrags, matrixMaxSteps)
	}
	if inst.suffix == emulated.suffix {
		if e := tm * tn / inst.lanes; tm*tn%inst.lanes != 0 || e > emulatedMaxE || e%2 != 0 || tn%e != 0 {
			return fmt.Errorf("fragments of %dx%d over %d lanes; the emulation holds an even number, up to %d, of entries of a row a lane", tm, tn, inst.lanes, emulatedMaxE)
		}
	}
	return v.stagingShape(v.workgroup(inst))
}

func (matrixStyle) tile(v GemmVariant) (rows, cols uint32) { return v.BM, v.BN }

// workgroup: a subgroup a warp tile.
func (matrixStyle) workgroup(v GemmVariant, inst matrixInstance) uint32 {
	return v.warps() * inst.lanes
}

// subgroup: the cooperative matrices' fragments span a subgroup; the
// emulation uses none.
func (s matrixStyle) subgroup(v GemmVariant, inst matrixInstance) (lanes, invocations uint32) {
	if inst.suffix == emulated.suffix {
		return 0, 0
	}
	return inst.lanes, s.workgroup(v, inst)
}

// sharedBytes: the A and B tiles of two-byte elements padded by 8 a line
// (the larger of the two layouts), twice over for bf16x3, and a fragment
// of C a subgroup.
func (matrixStyle) sharedBytes(v GemmVariant, inst matrixInstance, prec Precision) uint32 {
	parts := uint32(1)
	if prec == BF16x3 {
		parts = 2
	}
	tile := func(rows uint32) uint32 { return 2 * max(rows*(v.BK+8), v.BK*(rows+8)) }
	return parts*(tile(v.BM)+tile(v.BN)) + 4*v.warps()*inst.tm*inst.tn
}

// specialize: the instance's suffix after the style's; the tile at ids
// 0-4, the flags after it, the workgroup size at 9, the fragment shape at
// 10-12, a subgroup's invocations at 13 and bf16x3 at 14.
func (s matrixStyle) specialize(v GemmVariant, info vk.DeviceInfo, prec Precision, flags []uint32) (string, []uint32, matrixInstance) {
	inst, _ := instance(info) // Check has said it compiles
	spec := tileSpec([5]uint32{v.BM, v.BN, v.BK, v.WM, v.WN}, flags, s.workgroup(v, inst), inst.tm, inst.tn, inst.tk, inst.lanes, boolWord(prec == BF16x3))
	return s.String() + "_" + inst.suffix, spec, inst
}

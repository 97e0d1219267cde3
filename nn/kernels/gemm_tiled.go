package kernels

import "github.com/vkcnn/vkcnn/vk"

// tiledStyle is Tiled: the textbook shared-memory tiles
// (gemm_tiled_body.glsl). A variant's tile of C is BM x BN, its depth BK,
// and each invocation computes a block of TM x TN.
type tiledStyle struct{}

func (tiledStyle) String() string { return "tiled" }

func (tiledStyle) matrix() bool { return false }

func (tiledStyle) staged() bool { return false }

// check: the device's limits alone (usable) bound a tiled variant.
func (tiledStyle) check(GemmVariant, vk.DeviceInfo, bool) (matrixInstance, error) {
	return matrixInstance{}, nil
}

func (tiledStyle) tile(v GemmVariant) (rows, cols uint32) { return v.BM, v.BN }

func (tiledStyle) workgroup(v GemmVariant, _ matrixInstance) uint32 {
	return (v.BM / v.TM) * (v.BN / v.TN)
}

func (tiledStyle) subgroup(GemmVariant, matrixInstance) (lanes, invocations uint32) { return 0, 0 }

// sharedBytes: the A and B tiles.
func (tiledStyle) sharedBytes(v GemmVariant, _ matrixInstance, _ Precision) uint32 {
	return 4 * (v.BM + v.BN) * v.BK
}

// specialize: the tile at ids 0-4, the flags after it, the workgroup size
// at 9.
func (s tiledStyle) specialize(v GemmVariant, _ vk.DeviceInfo, _ Precision, flags []uint32) (string, []uint32, matrixInstance) {
	return s.String(), tileSpec([5]uint32{v.BM, v.BN, v.BK, v.TM, v.TN}, flags, s.workgroup(v, matrixInstance{})), matrixInstance{}
}

package kernels

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vkcnn/vkcnn/vk"
)

// subgroupStyle is Subgroup: kernels that run one 8-lane subgroup a
// workgroup with no shared memory, passing A between lanes by
// subgroupBroadcast (gemm_subgroup_body.glsl): for lavapipe, where loads,
// not arithmetic, cost. A variant's tile of C is Rows x Cols.
type subgroupStyle struct{}

// subgroupLanes are the lanes of the subgroup kernels
// (gemm_subgroup_body.glsl's local_size_x and subgroupBroadcast).
const subgroupLanes = 8

func (subgroupStyle) String() string { return "subgroup" }

func (subgroupStyle) matrix() bool { return false }

func (subgroupStyle) staged() bool { return false }

// check: the subgroup body writes out up to 8 blocks of 8 rows and holds
// 64 or 32 columns, and broadcasts within 8-lane subgroups.
func (s subgroupStyle) check(v GemmVariant, info vk.DeviceInfo, _ bool) (matrixInstance, error) {
	if v.Rows == 0 || v.Rows > 64 || v.Rows%8 != 0 || (v.Cols != 32 && v.Cols != 64) {
		return matrixInstance{}, fmt.Errorf("GEMM variant %s: a subgroup tile of %dx%d; the shader takes 8 to 64 rows in eights by 32 or 64 columns", v.Name, v.Rows, v.Cols)
	}
	if !slices.Contains(info.SubgroupOps, "ballot") {
		return matrixInstance{}, fmt.Errorf("GEMM variant %s needs subgroup broadcast (the device's operations are %s)", v.Name, strings.Join(info.SubgroupOps, ","))
	}
	if err := info.RequireSubgroup(s.subgroup(v, matrixInstance{})); err != nil {
		return matrixInstance{}, fmt.Errorf("GEMM variant %s needs %d-lane subgroups: %w", v.Name, subgroupLanes, err)
	}
	return matrixInstance{}, nil
}

func (subgroupStyle) tile(v GemmVariant) (rows, cols uint32) { return v.Rows, v.Cols }

func (subgroupStyle) workgroup(GemmVariant, matrixInstance) uint32 { return subgroupLanes }

func (subgroupStyle) subgroup(GemmVariant, matrixInstance) (lanes, invocations uint32) {
	return subgroupLanes, subgroupLanes
}

func (subgroupStyle) sharedBytes(GemmVariant, matrixInstance, Precision) uint32 { return 0 }

// specialize: the flags at ids 0-7, the tile at 8 and 9.
func (s subgroupStyle) specialize(v GemmVariant, _ vk.DeviceInfo, _ Precision, flags []uint32) (string, []uint32, matrixInstance) {
	spec := append(slices.Clone(flags), make([]uint32, 8-len(flags))...)
	return s.String(), append(spec, v.Rows, v.Cols), matrixInstance{}
}

// C = op(A) * op(B) (+ bias) (ReLU) on row-major matrices, for GPUs: the
// operands staged in shared memory by vec4 slots (stage_tile.glsl) and
// multiplied by the warp-tiled body (gemm_warp_body.glsl) or, where the
// including shader defines MATRIX, the cooperative-matrix one
// (matrix_body.glsl). The sum over k may be split across workgroup layers
// (gl_WorkGroupID.z), each writing its partial C to its own slice;
// splitsum.comp adds them in order.
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 5) const bool TRANS_A = false; // A is stored K x M
layout(constant_id = 6) const bool TRANS_B = false; // B is stored N x K
layout(constant_id = 7) const bool BIAS = false;
layout(constant_id = 8) const bool RELU = false;
const bool A_KMAJOR = TRANS_A;
const bool B_NMAJOR = TRANS_B;

layout(push_constant) uniform Push { uint M, N, K, KSPLIT; } p;
#define M p.M
#define N p.N
#define K p.K
#include "ksplit.glsl"
#define HAS_BIAS

#include "stage_tile.glsl"
#include "gemm_io.glsl"
#include "gemm_warp_a.glsl"
#include "staged_body.glsl"

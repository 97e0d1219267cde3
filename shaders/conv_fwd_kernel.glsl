// Forward 2-D convolution (+ bias) (ReLU) as an implicit GEMM for GPUs (see
// conv_common.glsl, conv_rows_warp_a.glsl and gemm_kernel.glsl).
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 5) const bool BIAS = false;
layout(constant_id = 6) const bool RELU = false;
const bool TRANS_B = false;
const bool A_KMAJOR = false;
const bool B_NMAJOR = false;
#define HAS_BIAS
#include "conv_common.glsl"
#include "ksplit.glsl"
#define CH p.CIN
#define DIR 1
#include "stage_tile.glsl"
#include "gemm_io.glsl"
#include "conv_rows_warp_a.glsl"
#include "staged_body.glsl"

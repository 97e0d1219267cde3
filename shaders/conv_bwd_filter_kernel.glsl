// The kernel gradient of a 2-D convolution as an implicit GEMM for GPUs (see
// conv_common.glsl, conv_bwd_filter_warp_a.glsl and gemm_kernel.glsl).
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 5) const bool BIAS = false;
layout(constant_id = 6) const bool RELU = false;
const bool TRANS_B = false;
const bool A_KMAJOR = true;
const bool B_NMAJOR = false;
#include "conv_common.glsl"
#include "ksplit.glsl"
#include "stage_tile.glsl"
#include "gemm_io.glsl"
#include "conv_bwd_filter_warp_a.glsl"
#include "staged_body.glsl"

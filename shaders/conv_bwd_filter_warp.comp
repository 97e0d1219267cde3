#version 450
// The kernel gradient of a 2-D convolution as an implicit GEMM, warp-tiled
// for GPUs (see conv_common.glsl, conv_bwd_filter_warp_a.glsl and
// gemm_warp_body.glsl).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 5) const bool BIAS = false;
layout(constant_id = 6) const bool RELU = false;
const bool TRANS_B = false;
const bool A_KMAJOR = true;
const bool B_NMAJOR = false;
#include "conv_common.glsl"
#include "ksplit.glsl"
#include "warp_tile.glsl"
#include "gemm_io.glsl"
#include "conv_bwd_filter_warp_a.glsl"
#include "gemm_warp_body.glsl"

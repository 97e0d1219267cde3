#version 450
// The kernel gradient of a 2-D convolution as an implicit GEMM, subgroup style (see conv_common.glsl, conv_bwd_filter_a.glsl and
// gemm_subgroup_body.glsl).
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const bool BIAS = false;
layout(constant_id = 1) const bool RELU = false;
const bool TRANS_B = false;
const bool A_KMAJOR = true;
const bool B_NMAJOR = false;
// The sum over pixels is split across workgroup layers.
#include "ksplit.glsl"

#include "conv_common.glsl"
#include "gemm_io.glsl"
#include "conv_bwd_filter_a.glsl"
#include "gemm_subgroup_body.glsl"

#version 450
// The input gradient of a 2-D convolution as an implicit GEMM, subgroup style (see conv_common.glsl, conv_bwd_data_a.glsl and
// gemm_subgroup_body.glsl).
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const bool BIAS = false;
layout(constant_id = 1) const bool RELU = false;
const bool TRANS_B = false;
const bool A_KMAJOR = false;
const bool B_NMAJOR = false;

#include "conv_common.glsl"
#include "gemm_io.glsl"
#include "conv_bwd_data_a.glsl"
#include "gemm_subgroup_body.glsl"

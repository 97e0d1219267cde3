#version 450
// conv_fwd_kernel.glsl on cooperative matrices with bf16 elements.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_cooperative_matrix : require
#include "matrix_bf16.glsl"
#include "conv_fwd_kernel.glsl"

#version 450
// gemm_kernel.glsl on cooperative matrices with bf16 elements.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_cooperative_matrix : require
#include "matrix_bf16.glsl"
#include "gemm_kernel.glsl"

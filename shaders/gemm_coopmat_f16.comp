#version 450
// gemm_kernel.glsl on cooperative matrices with f16 elements.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_cooperative_matrix : require
#include "matrix_f16.glsl"
#include "gemm_kernel.glsl"

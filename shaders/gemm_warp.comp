#version 450
// The warp-tiled instance of gemm_kernel.glsl.
#extension GL_GOOGLE_include_directive : require
#include "gemm_kernel.glsl"

#version 450
// gemm_kernel.glsl on the plain-GLSL matrix operations with bf16 elements:
// what lavapipe runs for --precision bf16 and bf16x3.
#extension GL_GOOGLE_include_directive : require
#include "matrix_emu.glsl"
#include "gemm_kernel.glsl"

#version 450
// C = op(A) * op(B) (+ bias) (ReLU) on row-major matrices, GPU style (see
// gemm_tiled_body.glsl). Transposes are resolved while loading tiles.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 5) const bool TRANS_A = false; // A is stored K x M
layout(constant_id = 6) const bool TRANS_B = false; // B is stored N x K
layout(constant_id = 7) const bool BIAS = false;
layout(constant_id = 8) const bool RELU = false;
const bool A_KMAJOR = TRANS_A;
const bool B_NMAJOR = TRANS_B;

layout(push_constant) uniform Push { uint M, N, K; } p;
#define M p.M
#define N p.N
#define K p.K
#define HAS_BIAS

#include "gemm_io.glsl"
#include "gemm_a.glsl"
#include "gemm_tiled_body.glsl"

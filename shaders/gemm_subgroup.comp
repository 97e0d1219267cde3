#version 450
// C = op(A) * op(B) (+ bias) (ReLU) on row-major matrices, lavapipe style
// (see gemm_subgroup_body.glsl).
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const bool TRANS_A = false; // A is stored K x M
layout(constant_id = 1) const bool TRANS_B = false; // B is stored N x K
layout(constant_id = 2) const bool BIAS = false;    // add bias[n]
layout(constant_id = 3) const bool RELU = false;    // max(0, x)
const bool A_KMAJOR = TRANS_A;

layout(push_constant) uniform Push { uint M, N, K; } p;
#define M p.M
#define N p.N
#define K p.K
#define HAS_BIAS

#include "gemm_io.glsl"
#include "gemm_a.glsl"
#include "gemm_subgroup_body.glsl"

#version 450
// Batch normalization of NHWC values with per-channel statistics (the
// batch's in training, the moving ones in evaluation, as
// batchnorm_stats.comp leaves them): y = gamma (x - mean) / sqrt(var + eps)
// + beta, one invocation per value.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint count, C; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Stats { float stats[]; }; // mean at c, 1/sqrt(var + eps) at C + c
layout(binding = 2) readonly buffer Gamma { float gamma[]; };
layout(binding = 3) readonly buffer Beta { float beta[]; };
layout(binding = 4) writeonly buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint c = i % p.C;
    y[i] = gamma[c] * ((x[i] - stats[c]) * stats[p.C + c]) + beta[c];
}

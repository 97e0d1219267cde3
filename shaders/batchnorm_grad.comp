#version 450
// The gradients of batch normalization's gamma and beta over the step's
// valid samples, from the layer's input x, its output gradient dy and the
// batch statistics (batchnorm_stats.comp), with xhat = (x - mean) /
// sqrt(var + eps); deterministic, in two stages:
//   STAGE 0: for each chunk of CHUNK rows and channel c, the sums of dy and
//            of dy xhat over the chunk's valid rows, to part;
//   STAGE 1: per channel, the chunks' sums added in order: dbeta = sum dy,
//            dgamma = sum dy xhat.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint STAGE = 0;
layout(push_constant) uniform Push { uint rows, C, chunk, pixels, first; } p; // as in batchnorm_stats.comp
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
#define STEP_BINDING 2
#include "step.glsl"
layout(binding = 3) readonly buffer Stats { float stats[]; };
layout(binding = 4) buffer Part { float part[]; };
layout(binding = 5) writeonly buffer DGamma { float dgamma[]; };
layout(binding = 6) writeonly buffer DBeta { float dbeta[]; };

void main() {
    uint i = flatIndex();
    uint valid = validRows(stepValues.valid * p.pixels, p.first, p.rows);
    if (STAGE == 0) {
        uint chunks = (p.rows + p.chunk - 1) / p.chunk;
        if (i >= chunks * p.C) return;
        uint c = i % p.C;
        uint begin = (i / p.C) * p.chunk, end = min(valid, begin + p.chunk);
        float sdy = 0.0, sdyx = 0.0;
        for (uint r = begin; r < end; r++) {
            float g = dy[r * p.C + c];
            sdy += g;
            sdyx += g * ((x[r * p.C + c] - stats[c]) * stats[p.C + c]);
        }
        part[2 * i] = sdy;
        part[2 * i + 1] = sdyx;
        return;
    }
    if (i >= p.C) return;
    float sdy = 0.0, sdyx = 0.0;
    for (uint k = 0; k * p.chunk < valid; k++) {
        sdy += part[2 * (k * p.C + i)];
        sdyx += part[2 * (k * p.C + i) + 1];
    }
    dbeta[i] = sdy;
    dgamma[i] = sdyx;
}

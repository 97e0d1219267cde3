#version 450
// Batch normalization followed by a ReLU, as one layer: the ReLU's pass
// over memory forward and its mask backward folded into batch
// normalization's own passes (nn fuses a batchnorm layer into the relu
// layer that alone reads it). With xhat = (x - mean) / sqrt(var + eps)
// and y = gamma xhat + beta, computed as batchnorm_normalize.comp,
// batchnorm_grad.comp and batchnorm_dx.comp compute them (so that the
// results are theirs bit for bit, the ReLU's separately):
//   MODE 0: out = max(y, 0), one invocation per value;
//   MODE 1: batchnorm_grad.comp's STAGE 0 on g = dy where y > 0, else 0:
//           the sums of g and g xhat over each chunk's valid rows, to part
//           (its STAGE 1 adds them up);
//   MODE 2: batchnorm_dx.comp on g, in place over dy.
// y is recomputed from x backward, which batch normalization reads anyway:
// the ReLU's output is not read again.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
// rows: x's, of the batch or of a slice of it from row first; chunk: rows
// a MODE 1 invocation sums; pixels: rows a sample.
layout(push_constant) uniform Push { uint rows, C, chunk, pixels, first; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer DY { float dy[]; }; // MODE 0: the output; 1: dy; 2: dy in, dx out
#define STEP_BINDING 2
#include "step.glsl"
layout(binding = 3) readonly buffer Stats { float stats[]; }; // mean at c, 1/sqrt(var + eps) at C + c
layout(binding = 4) readonly buffer Gamma { float gamma[]; };
layout(binding = 5) readonly buffer Beta { float beta[]; };
layout(binding = 6) buffer Part { float part[]; };            // MODE 1: 2 a chunk and channel
layout(binding = 7) readonly buffer DGamma { float dgamma[]; }; // MODE 2
layout(binding = 8) readonly buffer DBeta { float dbeta[]; };   // MODE 2

// The output gradient g, cut where the ReLU cut y = g1 xhat + b1 (gamma
// and beta of the value's channel). g is loaded whether cut or not: a
// load under a condition is one lane at a time on lavapipe.
float cut(float g, float xhat, float g1, float b1) {
    return g1 * xhat + b1 > 0.0 ? g : 0.0;
}

void main() {
    uint i = flatIndex();
    if (MODE == 0) {
        if (i >= p.rows * p.C) return;
        uint c = i % p.C;
        dy[i] = max(gamma[c] * ((x[i] - stats[c]) * stats[p.C + c]) + beta[c], 0.0);
        return;
    }
    if (MODE == 1) {
        uint valid = validRows(stepValues.valid * p.pixels, p.first, p.rows);
        uint chunks = (p.rows + p.chunk - 1) / p.chunk;
        if (i >= chunks * p.C) return;
        uint c = i % p.C;
        uint begin = (i / p.C) * p.chunk, end = min(valid, begin + p.chunk);
        float mean = stats[c], invStd = stats[p.C + c], g1 = gamma[c], b1 = beta[c];
        float sdy = 0.0, sdyx = 0.0;
        for (uint r = begin; r < end; r++) {
            float xhat = (x[r * p.C + c] - mean) * invStd;
            float g = cut(dy[r * p.C + c], xhat, g1, b1);
            sdy += g;
            sdyx += g * xhat;
        }
        part[2 * i] = sdy;
        part[2 * i + 1] = sdyx;
        return;
    }
    if (i >= p.rows * p.C) return;
    uint c = i % p.C;
    uint valid = stepValues.valid * p.pixels;
    if (p.first + i / p.C >= valid) {
        dy[i] = 0.0;
        return;
    }
    float invStd = stats[p.C + c], g1 = gamma[c];
    float xhat = (x[i] - stats[c]) * invStd;
    dy[i] = g1 * invStd * (cut(dy[i], xhat, g1, beta[c]) - (dbeta[c] + xhat * dgamma[c]) / float(valid));
}

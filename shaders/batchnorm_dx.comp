#version 450
// The input gradient of batch normalization in training, in place over
// the output gradient: with n valid rows (the step's valid samples),
//   dx = gamma / sqrt(var + eps) (dy - (dbeta + xhat dgamma) / n)
// where dbeta and dgamma are the sums batchnorm_grad.comp leaves; 0 for
// the rows of padding samples, which the statistics never saw.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

// pixels: rows a sample; first: the first row of x and dy, where the
// batch runs in slices within the device's storage-buffer range.
layout(push_constant) uniform Push { uint count, C, pixels, first; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer DY { float dy[]; };                // dy in, dx out
#define STEP_BINDING 2
#include "step.glsl"
layout(binding = 3) readonly buffer Stats { float stats[]; }; // mean at c, 1/sqrt(var + eps) at C + c
layout(binding = 4) readonly buffer Gamma { float gamma[]; };
layout(binding = 5) readonly buffer DGamma { float dgamma[]; };
layout(binding = 6) readonly buffer DBeta { float dbeta[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint c = i % p.C;
    uint valid = stepValues.valid * p.pixels;
    if (p.first + i / p.C >= valid) {
        dy[i] = 0.0;
        return;
    }
    float invStd = stats[p.C + c];
    float xhat = (x[i] - stats[c]) * invStd;
    dy[i] = gamma[c] * invStd * (dy[i] - (dbeta[c] + xhat * dgamma[c]) / float(valid));
}

#version 450
// AdamW as torch.optim.AdamW does it, over one contiguous parameter
// buffer:
//   p = p (1 - lr wd)                  (decoupled; where mask is 1)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2   (PyTorch 1.13's form;
//   PyTorch 2 writes m as a lerp, which rounds differently)
//   p = p - lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The host computes 1 - lr wd, lr / (1 - b1^t) and sqrt(1 - b2^t) in
// float64 into the step buffer, lr being the scheduled rate.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define STEP_BINDING 5
#define STEP_OPTIMIZER
#include "step.glsl"

layout(push_constant) uniform Push { uint n; float beta1, beta2, eps; } p;
layout(binding = 0) buffer Params { float w[]; };
layout(binding = 1) readonly buffer Grads { float g[]; };
layout(binding = 2) buffer M { float m[]; };
layout(binding = 3) buffer V { float v[]; };
layout(binding = 4) readonly buffer Mask { float mask[]; }; // 1: decayed, 0: not

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    float gi = g[i];
    float wi = w[i];
    if (mask[i] != 0.0) wi *= stepValues.decay;
    float mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    float vi = p.beta2 * v[i] + (1.0 - p.beta2) * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - stepValues.stepSize * (mi / (sqrt(vi) / stepValues.corr2Sqrt + p.eps));
}

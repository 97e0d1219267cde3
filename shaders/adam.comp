#version 450
// Adam as Keras 2.0 defines it, over one contiguous parameter buffer:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p = p - lr_t m / (sqrt(v) + eps),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
// lr_t comes from the step buffer (the host computes it in float64).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; float beta1, beta2, eps; } p;
layout(binding = 0) buffer Params { float w[]; };
layout(binding = 1) readonly buffer Grads { float g[]; };
layout(binding = 2) buffer M { float m[]; };
layout(binding = 3) buffer V { float v[]; };
layout(binding = 4) readonly buffer Step { uint step; uint seed; uint valid; float lr; } st;

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    float gi = g[i];
    float mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    float vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= st.lr * mi / (sqrt(vi) + p.eps);
}

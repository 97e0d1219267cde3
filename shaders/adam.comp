#version 450
// Adam as Keras 2.0 defines it, over one contiguous parameter buffer:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p = p - lr_t m / (sqrt(v) + eps),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
// lr_t comes from the step buffer (the host computes it in float64). Four
// parameters an invocation, through vec4 loads: on lavapipe every load is a
// loop over the lanes, so fewer, wider loads stream faster.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define STEP_BINDING 4
#include "step.glsl"

layout(push_constant) uniform Push { uint n; float beta1, beta2, eps; } p;
layout(binding = 0) buffer Params { float w[]; };
layout(binding = 0) buffer Params4 { vec4 w4[]; };
layout(binding = 1) readonly buffer Grads { float g[]; };
layout(binding = 1) readonly buffer Grads4 { vec4 g4[]; };
layout(binding = 2) buffer M { float m[]; };
layout(binding = 2) buffer M4 { vec4 m4[]; };
layout(binding = 3) buffer V { float v[]; };
layout(binding = 3) buffer V4 { vec4 v4[]; };

void main() {
    uint i = flatIndex();
    if (4 * i + 3 < p.n) {
        vec4 gi = g4[i];
        vec4 mi = p.beta1 * m4[i] + (1.0 - p.beta1) * gi;
        vec4 vi = p.beta2 * v4[i] + (1.0 - p.beta2) * gi * gi;
        m4[i] = mi;
        v4[i] = vi;
        w4[i] -= stepValues.lr * mi / (sqrt(vi) + p.eps);
        return;
    }
    for (uint j = 4 * i; j < p.n; j++) { // the last 1-3 parameters
        float gj = g[j];
        float mj = p.beta1 * m[j] + (1.0 - p.beta1) * gj;
        float vj = p.beta2 * v[j] + (1.0 - p.beta2) * gj * gj;
        m[j] = mj;
        v[j] = vj;
        w[j] -= stepValues.lr * mj / (sqrt(vj) + p.eps);
    }
}

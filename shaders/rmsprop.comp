#version 450
// RMSprop as torch.optim.RMSprop does it (no momentum, not centered), over
// one contiguous parameter buffer, with weight decay already in the
// gradient:
//   s = rho s + (1 - rho) g^2;  p = p - lr g / (sqrt(s) + eps)
// lr comes from the step buffer (the scheduled rate).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define STEP_BINDING 3
#include "step.glsl"

layout(push_constant) uniform Push { uint n; float rho, eps; } p;
layout(binding = 0) buffer Params { float w[]; };
layout(binding = 1) readonly buffer Grads { float g[]; };
layout(binding = 2) buffer SquareAvg { float s[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    float gi = g[i];
    float si = p.rho * s[i] + (1.0 - p.rho) * (gi * gi);
    s[i] = si;
    w[i] -= stepValues.lr * (gi / (sqrt(si) + p.eps));
}

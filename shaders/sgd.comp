#version 450
// SGD as torch.optim.SGD does it (dampening 0), over one contiguous
// parameter buffer, with weight decay already in the gradient:
//   momentum 0:  p = p - lr g
//   else:        b = mu b + g;  p = p - lr b   (Nesterov: p = p - lr (g + mu b))
// The buffer b starts at zero, so its first step is b = g as PyTorch's.
// lr comes from the step buffer (the scheduled rate).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define STEP_BINDING 3
#include "step.glsl"

layout(push_constant) uniform Push { uint n; float momentum; uint nesterov; } p;
layout(binding = 0) buffer Params { float w[]; };
layout(binding = 1) readonly buffer Grads { float g[]; };
layout(binding = 2) buffer Momentum { float b[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    float d = g[i];
    if (p.momentum != 0.0) {
        float bi = p.momentum * b[i] + d;
        b[i] = bi;
        d = p.nesterov != 0u ? d + p.momentum * bi : bi;
    }
    w[i] -= stepValues.lr * d;
}

#version 450
// L2 weight decay added to the gradient, as torch.optim's weight_decay
// for SGD, Adam and RMSprop: g = g + wd p where mask is 1 (every
// parameter, or all but biases and batch normalization's with
// --no-decay-bias-bn).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; float wd; } p;
layout(binding = 0) readonly buffer Params { float w[]; };
layout(binding = 1) buffer Grads { float g[]; };
layout(binding = 2) readonly buffer Mask { float mask[]; };

void main() {
    uint i = flatIndex();
    if (i < p.n && mask[i] != 0.0) g[i] += p.wd * w[i];
}

#version 450
// Adds the partial results of a product whose sum over k was split across
// workgroup layers, in layer order (deterministic, no float atomics), then
// the bias (by column) and ReLU: c[i] = relu(sum_l part[l*count + i] + bias[i % cols]).
// With ACCUMULATE the sum starts from c[i]: the products of the slices of
// k before, where one binding could not hold all of k.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const bool BIAS = false;
layout(constant_id = 2) const bool RELU = false;
layout(constant_id = 3) const bool ACCUMULATE = false;
layout(push_constant) uniform Push { uint count, cols, layers; } p;
layout(binding = 0) readonly buffer Part { float part[]; };
layout(binding = 1) buffer C { float c[]; };
layout(binding = 2) readonly buffer Bias { float bias[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    float s = ACCUMULATE ? c[i] : 0.0;
    for (uint l = 0; l < p.layers; l++) s += part[l * p.count + i];
    if (BIAS) s += bias[i % p.cols];
    c[i] = RELU ? max(s, 0.0) : s;
}

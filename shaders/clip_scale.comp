#version 450
// g[i] *= clip[1], the scale grad_norm.comp's second stage wrote: the
// clipping stays on the device.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; } p;
layout(binding = 0) buffer G { float g[]; };
layout(binding = 1) readonly buffer Clip { float clip[]; };

void main() {
    uint i = flatIndex();
    if (i < p.n) g[i] *= clip[1];
}

#version 450
// y[i] = alpha * x[i] for i < n; x and y may be the same buffer.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; float alpha; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i < p.n) y[i] = p.alpha * x[i];
}

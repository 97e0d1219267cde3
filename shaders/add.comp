#version 450
// z[i] = x[i] + y[i] for i < n.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Y { float y[]; };
layout(binding = 2) writeonly buffer Z { float z[]; };

void main() {
    uint i = flatIndex();
    if (i < p.n) z[i] = x[i] + y[i];
}

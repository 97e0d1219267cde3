#version 450
// x[i] = value for i < n.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; float value; } p;
layout(binding = 0) writeonly buffer X { float x[]; };

void main() {
    uint i = flatIndex();
    if (i < p.n) x[i] = p.value;
}

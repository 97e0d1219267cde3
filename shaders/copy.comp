#version 450
// y[i] = x[i] for i < n, four floats an invocation: the device's copy
// bandwidth, which `vkcnn bench all` measures the element-wise kernels
// against. The host passes n4 = ceil(n / 4) invocations.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint n; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };
layout(binding = 1) writeonly buffer Y4 { vec4 y4[]; };

void main() {
    uint i = flatIndex();
    if (4 * i + 3 < p.n) {
        y4[i] = x4[i];
    } else {
        for (uint j = 4 * i; j < p.n; j++) y[j] = x[j];
    }
}

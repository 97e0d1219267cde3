#version 450
// y[i] = max(0, x[i]), forward (MODE 0); or dx[i] = dy[i] where y[i] > 0,
// else 0, backward (MODE 1), with binding 0 the forward output y and
// binding 1 the gradient, updated in place.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(push_constant) uniform Push { uint n; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    if (MODE == 0) {
        y[i] = max(x[i], 0.0);
    } else if (x[i] <= 0.0) {
        y[i] = 0.0;
    }
}

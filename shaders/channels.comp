#version 450
// A tensor's channels within a wider one's, as concatenation along the
// channel axis places them: x holds n values, pixels of cx channels; y the
// same pixels of cy channels, x's channel c at y's off + c. SCATTER 1
// writes them into y (concatenate's forward), 0 reads them back into x
// (its input gradient). Each invocation moves one value.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint SCATTER = 1;
layout(push_constant) uniform Push { uint n; uint cx; uint cy; uint off; } p;
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    uint j = i / p.cx * p.cy + p.off + i % p.cx;
    if (SCATTER != 0) {
        y[j] = x[i];
    } else {
        x[i] = y[j];
    }
}

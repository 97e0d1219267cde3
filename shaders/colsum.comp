#version 450
// b[n] = sum over rows m of g[m][n]: the bias gradient. One invocation per
// column sums its rows in order, so the result is deterministic.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint rows, cols; } p;
layout(binding = 0) readonly buffer G { float g[]; };
layout(binding = 1) writeonly buffer B { float b[]; };

void main() {
    uint n = flatIndex();
    if (n >= p.cols) return;
    float s = 0.0;
    for (uint m = 0; m < p.rows; m++) s += g[m * p.cols + n];
    b[n] = s;
}

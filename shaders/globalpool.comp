#version 450
// Global average pooling of NHWC images of PIXELS pixels and C channels:
// y[n][c] is the mean of x[n][.][c], summed pixel by pixel. BACKWARD 1
// writes the input gradient instead, dx[n][p][c] = dy[n][c] / PIXELS.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint BACKWARD = 0;
layout(push_constant) uniform Push { uint n; uint PIXELS; uint C; } p;
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    if (BACKWARD == 0) {
        uint c = i % p.C, img = i / p.C;
        float s = 0.0;
        for (uint q = 0; q < p.PIXELS; q++) s += x[(img * p.PIXELS + q) * p.C + c];
        y[i] = s / float(p.PIXELS);
        return;
    }
    uint c = i % p.C, img = i / (p.C * p.PIXELS);
    x[i] = y[img * p.C + c] / float(p.PIXELS);
}

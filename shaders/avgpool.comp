#version 450
// 2x2 average pooling, stride 2, "valid" (a trailing odd row or column is
// dropped), NHWC; one invocation per output value. Forward (MODE 0) writes
// the window's mean. Backward (MODE 1) writes a quarter of the output
// gradient to each of the window's four inputs, and 0 to a trailing row or
// column no window covers.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(push_constant) uniform Push { uint count, H, W, C; } p; // count: outputs
layout(binding = 0) readonly buffer In { float x[]; };   // x (MODE 0) or dy (MODE 1)
layout(binding = 1) writeonly buffer Out { float y[]; }; // y (MODE 0) or dx (MODE 1)

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint OH = p.H / 2, OW = p.W / 2;
    uint c = i % p.C;
    uint t = i / p.C;
    uint ox = t % OW;
    t /= OW;
    uint oy = t % OH;
    uint n = t / OH;
    uint row = p.W * p.C;
    uint base = ((n * p.H + 2 * oy) * p.W + 2 * ox) * p.C + c;
    if (MODE == 0) {
        y[i] = 0.25 * ((x[base] + x[base + p.C]) + (x[base + row] + x[base + row + p.C]));
        return;
    }
    float g = 0.25 * x[i];
    y[base] = g; y[base + p.C] = g; y[base + row] = g; y[base + row + p.C] = g;
    // Inputs past the last full window get no gradient.
    bool lastX = ox == OW - 1 && (p.W & 1u) == 1;
    bool lastY = oy == OH - 1 && (p.H & 1u) == 1;
    if (lastX) { y[base + 2 * p.C] = 0.0; y[base + row + 2 * p.C] = 0.0; }
    if (lastY) { y[base + 2 * row] = 0.0; y[base + 2 * row + p.C] = 0.0; }
    if (lastX && lastY) y[base + 2 * row + 2 * p.C] = 0.0;
}

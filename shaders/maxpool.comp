#version 450
// 2x2 max pooling, stride 2, "valid" (a trailing odd row or column is
// dropped), NHWC; one invocation per output value. Forward (MODE 0) writes
// the maximum. Backward (MODE 1) writes the window's four input gradients:
// the output gradient to the first maximum in row-major order, 0 to the
// others, and 0 to a trailing row or column no window covers.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(push_constant) uniform Push { uint count, H, W, C; } p; // count: outputs
layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) readonly buffer DOut { float dy[]; };   // MODE 1 only
layout(binding = 2) writeonly buffer Out { float y[]; };    // y (MODE 0) or dx (MODE 1)

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
    uint window[4] = uint[4](base, base + p.C, base + row, base + row + p.C);
    if (MODE == 0) {
        y[i] = max(max(x[window[0]], x[window[1]]), max(x[window[2]], x[window[3]]));
        return;
    }
    uint best = 0;
    for (uint j = 1; j < 4; j++) if (x[window[j]] > x[window[best]]) best = j;
    float g = dy[i];
    for (uint j = 0; j < 4; j++) y[window[j]] = j == best ? g : 0.0;
    // Inputs past the last full window get no gradient.
    bool lastX = ox == OW - 1 && (p.W & 1u) == 1;
    bool lastY = oy == OH - 1 && (p.H & 1u) == 1;
    if (lastX) { y[base + 2 * p.C] = 0.0; y[base + row + 2 * p.C] = 0.0; }
    if (lastY) { y[base + 2 * row] = 0.0; y[base + 2 * row + p.C] = 0.0; }
    if (lastX && lastY) y[base + 2 * row + 2 * p.C] = 0.0;
}

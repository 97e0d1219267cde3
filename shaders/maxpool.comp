#version 450
// 2x2 max pooling, stride 2, "valid" (a trailing odd row or column is
// dropped), NHWC. Forward (MODE 0): one invocation per output value.
// Backward (MODE 1): one invocation per input value, which receives the
// output gradient if it is the first maximum of its window in row-major
// order, else 0 (also outside every window).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(push_constant) uniform Push { uint count, H, W, C; } p; // count: outputs (MODE 0) or inputs (MODE 1)
layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) readonly buffer DOut { float dy[]; };   // MODE 1 only
layout(binding = 2) writeonly buffer Out { float y[]; };    // y (MODE 0) or dx (MODE 1)

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint OH = p.H / 2, OW = p.W / 2;
    uint c = i % p.C;
    uint t = i / p.C;
    if (MODE == 0) {
        uint ox = t % OW; t /= OW;
        uint oy = t % OH;
        uint n = t / OH;
        uint base = ((n * p.H + 2 * oy) * p.W + 2 * ox) * p.C + c;
        uint row = p.W * p.C;
        y[i] = max(max(x[base], x[base + p.C]), max(x[base + row], x[base + row + p.C]));
        return;
    }
    uint ix = t % p.W; t /= p.W;
    uint iy = t % p.H;
    uint n = t / p.H;
    uint oy = iy / 2, ox = ix / 2;
    if (oy >= OH || ox >= OW) { y[i] = 0.0; return; }
    uint base = ((n * p.H + 2 * oy) * p.W + 2 * ox) * p.C + c;
    uint row = p.W * p.C;
    uint window[4] = uint[4](base, base + p.C, base + row, base + row + p.C);
    uint best = window[0];
    for (int j = 1; j < 4; j++) if (x[window[j]] > x[best]) best = window[j];
    y[i] = best == i ? dy[((n * OH + oy) * OW + ox) * p.C + c] : 0.0;
}

#version 450
// The kernel gradient of a depthwise convolution: one invocation a kernel
// value, dw[ky][kx][c][m] = the sum over the images and output pixels, in
// order, of x[n][oy*SH-PT+ky*DH][ox*SW-PL+kx*DW][c] * dy[n][oy][ox][c*M+m]. Each
// sum is one invocation's, in a fixed order (no atomics), so it is the
// same every run; flags 1 adds it to dw, for a batch recorded in slices.
#include "depthwise_common.glsl"

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer DY { float dy[]; };
layout(binding = 2) buffer DWt { float dw[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.KH * p.KW * p.C * p.M) return;
    uint CM = p.C * p.M;
    uint o = i % CM, c = o / p.M, kx = i / CM % p.KW, ky = i / (CM * p.KW);
    uint images = p.n;
    float s = 0.0;
    for (uint img = 0; img < images; img++) {
        for (uint oy = 0; oy < p.OH; oy++) {
            int y0 = int(oy * p.SH + ky * p.DH) - int(p.PT);
            if (y0 < 0 || y0 >= int(p.H)) continue;
            for (uint ox = 0; ox < p.OW; ox++) {
                int x0 = int(ox * p.SW + kx * p.DW) - int(p.PL);
                if (x0 < 0 || x0 >= int(p.W)) continue;
                s += x[((img * p.H + uint(y0)) * p.W + uint(x0)) * p.C + c] * dy[((img * p.OH + oy) * p.OW + ox) * CM + o];
            }
        }
    }
    dw[i] = (p.flags & 1u) != 0u ? dw[i] + s : s;
}

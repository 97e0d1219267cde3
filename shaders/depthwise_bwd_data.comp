#version 450
// The input gradient of a depthwise convolution: one invocation an input
// value, dx[n][y][x][c] = the sum over taps (ky, then kx) whose window
// reads it, and then over m, of dy[n][oy][ox][c*M+m] * w[ky][kx][c][m],
// each tap's output pixel found from the input pixel (a strided tap that
// reads no output pixel is skipped, not multiplied by zero).
#include "depthwise_common.glsl"

layout(binding = 0) readonly buffer DY { float dy[]; };
layout(binding = 1) readonly buffer Wt { float w[]; };
layout(binding = 2) writeonly buffer DX { float dx[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    uint c = i % p.C, xx = i / p.C % p.W, yy = i / (p.C * p.W) % p.H, img = i / (p.C * p.W * p.H);
    uint CM = p.C * p.M;
    float s = 0.0;
    for (uint ky = 0; ky < p.KH; ky++) {
        int ty = int(yy + p.PT) - int(ky * p.DH);
        if (ty < 0 || uint(ty) % p.SH != 0u || uint(ty) / p.SH >= p.OH) continue;
        uint oy = uint(ty) / p.SH;
        for (uint kx = 0; kx < p.KW; kx++) {
            int tx = int(xx + p.PL) - int(kx * p.DW);
            if (tx < 0 || uint(tx) % p.SW != 0u || uint(tx) / p.SW >= p.OW) continue;
            uint ox = uint(tx) / p.SW;
            uint out0 = ((img * p.OH + oy) * p.OW + ox) * CM + c * p.M;
            uint w0 = (ky * p.KW + kx) * CM + c * p.M;
            for (uint m = 0; m < p.M; m++) s += dy[out0 + m] * w[w0 + m];
        }
    }
    dx[i] = s;
}

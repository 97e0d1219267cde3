#version 450
// The windows of a strided, padded, dilated or grouped convolution as the
// rows of a matrix, for the GEMM kernels: col[m][k], m an output pixel
// (n, oy, ox) and k a tap (ky, kx, c) in the kernel's HWIO order, is the
// input value the tap reads, x[n][oy*SH - PT + ky*DH][ox*SW - PL + kx*DW]
// [C0 + c], zero in the padding: the CG channels from C0 on (a group's;
// all C of them ungrouped).
// COL2IM 1 runs it backwards: each input value's gradient, x[i] (of the
// group's channels), is the sum of the entries of col that read it, taps
// in order (ky, then kx), each output pixel's tap found from the input
// pixel without multiplying by the zeros of a strided transpose.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint COL2IM = 0;
layout(push_constant) uniform Push {
    uint n;          // invocations: col's entries, or the group's of x
    uint H, W, C;    // input image
    uint OH, OW;     // output image
    uint KH, KW, SH, SW, PT, PL;
    uint DH, DW;     // dilation
    uint CG, C0;     // the group's channels, its first
} p;
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) buffer Col { float col[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    uint K = p.KH * p.KW * p.CG;
    if (COL2IM == 0) {
        uint m = i / K, k = i % K;
        uint c = k % p.CG, t = k / p.CG;
        uint ox = m % p.OW, oy = m / p.OW % p.OH, img = m / (p.OW * p.OH);
        int y = int(oy * p.SH + t / p.KW * p.DH) - int(p.PT);
        int xx = int(ox * p.SW + t % p.KW * p.DW) - int(p.PL);
        float v = 0.0;
        if (y >= 0 && y < int(p.H) && xx >= 0 && xx < int(p.W)) {
            v = x[((img * p.H + uint(y)) * p.W + uint(xx)) * p.C + p.C0 + c];
        }
        col[i] = v;
        return;
    }
    uint c = i % p.CG, px = i / p.CG;
    uint ix = px % p.W, iy = px / p.W % p.H, img = px / (p.W * p.H);
    int py = int(iy + p.PT), pxx = int(ix + p.PL); // in padded coordinates
    // Tap ky reads output row (py - ky*DH) / SH where that divides.
    float s = 0.0;
    for (uint ky = 0; ky < p.KH; ky++) {
        int ty = py - int(ky * p.DH);
        if (ty < 0) break;
        if (uint(ty) % p.SH != 0u || uint(ty) / p.SH >= p.OH) continue;
        uint oy = uint(ty) / p.SH;
        for (uint kx = 0; kx < p.KW; kx++) {
            int tx = pxx - int(kx * p.DW);
            if (tx < 0) break;
            if (uint(tx) % p.SW != 0u || uint(tx) / p.SW >= p.OW) continue;
            uint m = (img * p.OH + oy) * p.OW + uint(tx) / p.SW;
            s += col[m * K + (ky * p.KW + kx) * p.CG + c];
        }
    }
    x[(px * p.C) + p.C0 + c] = s;
}

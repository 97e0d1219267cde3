#version 450
// The windows of a strided or padded convolution as the rows of a matrix,
// for the GEMM kernels: col[m][k], m an output pixel (n, oy, ox) and k a
// tap (ky, kx, c) in the kernel's HWIO order, is the input value the tap
// reads, x[n][oy*SH - PT + ky][ox*SW - PL + kx][c], zero in the padding.
// COL2IM 1 runs it backwards: each input value's gradient, x[i], is the
// sum of the entries of col that read it, taps in order (ky, then kx),
// each output pixel's tap found from the input pixel without scanning the
// taps that skip it (the zeros of a strided transpose).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint COL2IM = 0;
layout(push_constant) uniform Push {
    uint n;          // invocations: col's entries, or x's
    uint H, W, C;    // input image
    uint OH, OW;     // output image
    uint KH, KW, SH, SW, PT, PL;
} p;
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) buffer Col { float col[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    uint K = p.KH * p.KW * p.C;
    if (COL2IM == 0) {
        uint m = i / K, k = i % K;
        uint c = k % p.C, t = k / p.C;
        uint ox = m % p.OW, oy = m / p.OW % p.OH, img = m / (p.OW * p.OH);
        int y = int(oy * p.SH + t / p.KW) - int(p.PT);
        int xx = int(ox * p.SW + t % p.KW) - int(p.PL);
        float v = 0.0;
        if (y >= 0 && y < int(p.H) && xx >= 0 && xx < int(p.W)) {
            v = x[((img * p.H + uint(y)) * p.W + uint(xx)) * p.C + c];
        }
        col[i] = v;
        return;
    }
    uint c = i % p.C, px = i / p.C;
    uint ix = px % p.W, iy = px / p.W % p.H, img = px / (p.W * p.H);
    int py = int(iy + p.PT), pxx = int(ix + p.PL); // in padded coordinates
    // The first tap row whose output row is whole: ky = py mod SH, then
    // every SH-th.
    float s = 0.0;
    for (uint ky = uint(py) % p.SH; ky < p.KH; ky += p.SH) {
        int oy = (py - int(ky)) / int(p.SH);
        if (oy < 0) break;
        if (oy >= int(p.OH)) continue;
        for (uint kx = uint(pxx) % p.SW; kx < p.KW; kx += p.SW) {
            int ox = (pxx - int(kx)) / int(p.SW);
            if (ox < 0) break;
            if (ox >= int(p.OW)) continue;
            uint m = (img * p.OH + uint(oy)) * p.OW + uint(ox);
            s += col[m * K + (ky * p.KW + kx) * p.C + c];
        }
    }
    x[i] = s;
}

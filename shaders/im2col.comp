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
// RUNS 0 gives each invocation one value, so neighbouring invocations
// touch neighbouring values (GPUs); RUNS 1 a run of CG channels, a tap's
// or an input pixel's, its index arithmetic done once for the run (CPUs,
// where that arithmetic, not the memory, costs: on lavapipe im2col runs
// 5 to 8 times faster, col2im 3 times; BENCHMARKS). Both sum each value's
// taps in one order.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint COL2IM = 0;
layout(constant_id = 2) const uint RUNS = 0;
layout(push_constant) uniform Push {
    uint n;          // invocations: col's entries or taps, x's group entries or pixels
    uint H, W, C;    // input image
    uint OH, OW;     // output image
    uint KH, KW, SH, SW, PT, PL;
    uint DH, DW;     // dilation
    uint CG, C0;     // the group's channels, its first
} p;
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) buffer Col { float col[]; };

// source is where tap t of output pixel m reads its CG channels in x, or
// -1 in the padding.
int source(uint m, uint t) {
    uint ox = m % p.OW, oy = m / p.OW % p.OH, img = m / (p.OW * p.OH);
    int y = int(oy * p.SH + t / p.KW * p.DH) - int(p.PT);
    int xx = int(ox * p.SW + t % p.KW * p.DW) - int(p.PL);
    if (y < 0 || y >= int(p.H) || xx < 0 || xx >= int(p.W)) return -1;
    return int(((img * p.H + uint(y)) * p.W + uint(xx)) * p.C + p.C0);
}

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    uint taps = p.KH * p.KW;
    uint K = taps * p.CG;
    if (COL2IM == 0 && RUNS == 0) {
        uint m = i / K, k = i % K;
        int at = source(m, k / p.CG);
        col[i] = at < 0 ? 0.0 : x[uint(at) + k % p.CG];
        return;
    }
    if (COL2IM == 0) {
        uint m = i / taps, t = i % taps;
        int at = source(m, t);
        uint dst = m * K + t * p.CG;
        for (uint c = 0; c < p.CG; c++) col[dst + c] = at < 0 ? 0.0 : x[uint(at) + c];
        return;
    }
    uint px = RUNS == 0 ? i / p.CG : i, c0 = RUNS == 0 ? i % p.CG : 0u;
    uint ix = px % p.W, iy = px / p.W % p.H, img = px / (p.W * p.H);
    int py = int(iy + p.PT), pxx = int(ix + p.PL); // in padded coordinates
    uint dst = px * p.C + p.C0;
    // One value's sum runs in a register; a run's in x from 0, as it
    // would in a register.
    float s = 0.0;
    if (RUNS == 1) {
        for (uint c = 0; c < p.CG; c++) x[dst + c] = 0.0;
    }
    // Tap ky reads output row (py - ky*DH) / SH where that divides.
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
            uint src = m * K + (ky * p.KW + kx) * p.CG;
            if (RUNS == 0) {
                s += col[src + c0];
            } else {
                for (uint c = 0; c < p.CG; c++) x[dst + c] += col[src + c];
            }
        }
    }
    if (RUNS == 0) x[dst + c0] = s;
}

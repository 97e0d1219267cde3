#version 450
// Column sums of a rows x cols matrix in two deterministic stages, so that
// tall matrices (a convolution's bias gradient sums batch x H x W rows)
// spread over many invocations without float atomics:
//   stage 0: part[c][n] = sum of rows [c*CHUNK, (c+1)*CHUNK) of column n;
//   stage 1: b[n] = sum over c of part[c][n], in order.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint STAGE = 0;
layout(push_constant) uniform Push { uint rows, cols, chunk; } p;
layout(binding = 0) readonly buffer G { float g[]; };
layout(binding = 1) writeonly buffer B { float b[]; };

void main() {
    uint i = flatIndex();
    uint chunks = (p.rows + p.chunk - 1) / p.chunk;
    if (STAGE == 0) {
        if (i >= chunks * p.cols) return;
        uint c = i / p.cols, n = i % p.cols;
        uint end = min(p.rows, (c + 1) * p.chunk);
        float s = 0.0;
        for (uint m = c * p.chunk; m < end; m++) s += g[m * p.cols + n];
        b[i] = s;
    } else {
        if (i >= p.cols) return;
        float s = 0.0;
        for (uint c = 0; c < chunks; c++) s += g[c * p.cols + i];
        b[i] = s;
    }
}

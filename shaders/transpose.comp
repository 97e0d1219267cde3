#version 450
// out[b][j][i] = in[b][i][j]: a batch of ROWS x COLS matrices transposed,
// e.g. a convolution kernel [ky][kx][ci][co] to [ky][kx][co][ci] for the
// input gradient.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push { uint count, rows, cols; } p;
layout(binding = 0) readonly buffer In { float x[]; };
layout(binding = 1) writeonly buffer Out { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint plane = p.rows * p.cols;
    uint b = i / plane;
    uint r = i % plane;
    uint row = r / p.cols;
    uint col = r % p.cols;
    y[b * plane + col * p.rows + row] = x[i];
}

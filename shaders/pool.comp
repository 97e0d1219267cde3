#version 450
// Pooling of NHWC images in KH x KW windows moved SH and SW pixels a step,
// the input padded by PT rows above and PL columns left (and whatever the
// output needs below and right), which no window counts: maxpool.comp's
// and avgpool.comp's general case (pooling options, global max pooling),
// and zero padding. MODE 0: the window's first maximum in row-major
// order, one invocation an output. 1: max's input gradient, one an input:
// dy summed over the windows whose first maximum it is, in output order.
// 2: the mean of the window's real pixels. 3: its input gradient, one an
// input. 4: x padded with zeros (a 1x1 window), one an output. 5: its
// gradient, dy cropped, one an input. 6: max's input gradient where one
// window covers the image (global pooling), one an output: dy to the
// first maximum, 0 to the rest, in O(window) where 1 takes O(window^2).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(push_constant) uniform Push { uint count, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL; } p;
layout(binding = 0) readonly buffer In { float x[]; };    // MODE 0, 1, 2 and 4
layout(binding = 1) readonly buffer DOut { float dy[]; }; // MODE 1, 3 and 5
layout(binding = 2) writeonly buffer Out { float y[]; };  // y or dx

// first and last are a window's real rows or columns, at output o.
uvec2 span(uint o, uint stride, uint pad, uint k, uint size) {
    int lo = int(o * stride) - int(pad);
    return uvec2(max(lo, 0), min(lo + int(k), int(size)) - 1);
}

// firstMax is the input index of the first maximum of window (oy, ox).
uint firstMax(uint base, uint oy, uint ox, uint c) {
    uvec2 ry = span(oy, p.SH, p.PT, p.KH, p.H), rx = span(ox, p.SW, p.PL, p.KW, p.W);
    uint best = base + (ry.x * p.W + rx.x) * p.C + c;
    for (uint iy = ry.x; iy <= ry.y; iy++)
        for (uint ix = rx.x; ix <= rx.y; ix++) {
            uint j = base + (iy * p.W + ix) * p.C + c;
            if (x[j] > x[best]) best = j;
        }
    return best;
}

// outputs are the first and last outputs whose windows read input i.
uvec2 outputs(uint i, uint stride, uint pad, uint k, uint outSize) {
    uint at = i + pad;
    uint lo = at + 1 >= k ? (at + 1 - k + stride - 1) / stride : 0;
    return uvec2(lo, min(at / stride, outSize - 1));
}

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint c = i % p.C;
    uint t = i / p.C;
    bool perOutput = MODE == 0 || MODE == 2 || MODE == 4 || MODE == 6;
    uint cols = perOutput ? p.OW : p.W, rows = perOutput ? p.OH : p.H;
    uint col = t % cols;
    t /= cols;
    uint row = t % rows;
    uint n = t / rows;
    uint base = n * p.H * p.W * p.C, outBase = n * p.OH * p.OW * p.C;
    if (MODE == 0) {
        y[i] = x[firstMax(base, row, col, c)];
    } else if (MODE == 2) {
        uvec2 ry = span(row, p.SH, p.PT, p.KH, p.H), rx = span(col, p.SW, p.PL, p.KW, p.W);
        float s = 0.0;
        for (uint iy = ry.x; iy <= ry.y; iy++)
            for (uint ix = rx.x; ix <= rx.y; ix++) s += x[base + (iy * p.W + ix) * p.C + c];
        y[i] = s / float((ry.y - ry.x + 1) * (rx.y - rx.x + 1));
    } else if (MODE == 4) {
        int iy = int(row) - int(p.PT), ix = int(col) - int(p.PL);
        bool inside = iy >= 0 && ix >= 0 && iy < int(p.H) && ix < int(p.W);
        y[i] = inside ? x[base + (uint(iy) * p.W + uint(ix)) * p.C + c] : 0.0;
    } else if (MODE == 6) {
        uint best = firstMax(base, 0, 0, c);
        for (uint j = base + c; j < base + p.H * p.W * p.C; j += p.C) y[j] = j == best ? dy[i] : 0.0;
    } else if (MODE == 5) {
        y[i] = dy[outBase + ((row + p.PT) * p.OW + col + p.PL) * p.C + c];
    } else {
        uvec2 oy = outputs(row, p.SH, p.PT, p.KH, p.OH), ox = outputs(col, p.SW, p.PL, p.KW, p.OW);
        float g = 0.0;
        for (uint r = oy.x; r <= oy.y; r++)
            for (uint q = ox.x; q <= ox.y; q++) {
                uint o = outBase + (r * p.OW + q) * p.C + c;
                if (MODE == 1) {
                    if (firstMax(base, r, q, c) == i) g += dy[o];
                } else {
                    uvec2 ry = span(r, p.SH, p.PT, p.KH, p.H), rx = span(q, p.SW, p.PL, p.KW, p.W);
                    g += dy[o] / float((ry.y - ry.x + 1) * (rx.y - rx.x + 1));
                }
            }
        y[i] = g;
    }
}

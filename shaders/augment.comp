#version 450
// Gathers a batch of MNIST digits from the training set held on the device
// as bytes, warps each with its own affine map (output pixel -> input
// coordinates), reading the source by nearest neighbour or bilinear
// interpolation, and writes float32 pixels in [0, 1]. One invocation per
// output pixel. augment.Warp is the reference; the arithmetic here follows
// it step by step, and precise keeps the compiler from fusing or
// reordering it.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const int SIDE = 28;
const uint PIXELS = 784;

layout(push_constant) uniform Push {
    uint count;  // batch * 784 output pixels
    uint first;  // the batch starts at order[first]
    uint fill;   // 0: repeat edge pixels, 1: zero outside the image
    uint interp; // 0: nearest neighbour, 1: bilinear
} p;

layout(binding = 0) readonly buffer Images { uint words[]; }; // uint8 pixels, 784 an image
layout(binding = 1) readonly buffer Order { uint order[]; };  // training-set index of each sample
layout(binding = 2) readonly buffer Affines { float affine[]; }; // 6 per sample
layout(binding = 3) writeonly buffer Out { float x[]; };

uint pixel(uint base, int px, int py) {
    if (p.fill == 0) {
        px = clamp(px, 0, SIDE - 1);
        py = clamp(py, 0, SIDE - 1);
    } else if (px < 0 || px >= SIDE || py < 0 || py >= SIDE) {
        return 0;
    }
    uint b = base + uint(py * SIDE + px);
    return (words[b >> 2] >> (8 * (b & 3u))) & 0xffu;
}

// v / 255 correctly rounded, as NumPy's float32 division gives it (a
// device's division may be 2.5 ulp off). For 0 < v < 255, with b the top
// bit of v, the quotient lies in [2^(b-8), 2^(b-7)); its 24-bit mantissa
// is v * 2^(31-b) / 255 rounded (no ties: 255 is odd), which fits a uint.
float unit(uint v) {
    if (v == 0 || v == 255) return float(v / 255);
    uint b = uint(findMSB(v));
    uint m = ((v << (31 - b)) + 127) / 255;
    return uintBitsToFloat(((b + 118) << 23) + m); // m's top bit carries into the exponent
}

// The pixel nearest to the coordinate t + offset as SciPy's order-0
// interpolation picks it, floor(c + 0.5), in .x; in .y, 1 where the
// coordinate lies within [0, SIDE-1] (where SciPy's constant mode reads
// the image). Whole pixels are split off t first, so for a whole t (shifts
// and flips) this is exact: adding t, offset and 0.5 in float32 would
// round and could cross a half.
ivec2 nearestIndex(float t, float offset) {
    precise float whole = floor(t);
    precise float s = (t - whole) + offset; // the coordinate less whole
    precise float n = floor(s);
    // Exact: near a half, s - n is representable.
    precise float index = whole + n + (s - n >= 0.5 ? 1.0 : 0.0);
    bool inside = !(s < -whole || s > float(SIDE - 1) - whole);
    // Clamped before the conversion, which is undefined far off the image.
    return ivec2(int(clamp(index, -1.0, float(SIDE))), inside ? 1 : 0);
}

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint s = i / PIXELS;
    uint pix = i % PIXELS;
    float fx = float(pix % SIDE);
    float fy = float(pix / SIDE);
    uint a = 6 * s;
    uint base = order[p.first + s] * PIXELS;
    precise float tx = affine[a] * fx + affine[a + 1] * fy;
    precise float ty = affine[a + 3] * fx + affine[a + 4] * fy;
    if (p.interp == 0) {
        ivec2 nx = nearestIndex(tx, affine[a + 2]);
        ivec2 ny = nearestIndex(ty, affine[a + 5]);
        x[i] = (p.fill == 1 && nx.y * ny.y == 0) ? 0.0 : unit(pixel(base, nx.x, ny.x));
        return;
    }
    precise float sx = tx + affine[a + 2];
    precise float sy = ty + affine[a + 5];
    float x0f = floor(sx);
    float y0f = floor(sy);
    float wx = sx - x0f;
    float wy = sy - y0f;
    int x0 = int(clamp(x0f, -2.0, float(SIDE + 1)));
    int y0 = int(clamp(y0f, -2.0, float(SIDE + 1)));
    float top = float(pixel(base, x0, y0)) * (1.0 - wx) + float(pixel(base, x0 + 1, y0)) * wx;
    float bottom = float(pixel(base, x0, y0 + 1)) * (1.0 - wx) + float(pixel(base, x0 + 1, y0 + 1)) * wx;
    x[i] = (top * (1.0 - wy) + bottom * wy) / 255.0;
}

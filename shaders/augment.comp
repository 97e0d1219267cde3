#version 450
// Gathers a batch of images from a data set held on the device as bytes
// (HWC, one byte a value), warps each with its own affine map (output
// pixel -> input coordinates), reading the source by nearest neighbour or
// bilinear interpolation, and writes float32 values in [0, 1], NHWC. One
// invocation per output value. augment.Warp is the reference; the
// arithmetic here follows it step by step, and precise keeps the compiler
// from fusing or reordering it. The data set is bound in up to four
// pieces of PER_PIECE images each, so that each binding stays within the
// device's storage-buffer range. With NORMALIZE, each value v of channel
// c becomes (v - mean[c]) * invStd[c] (augment.Normalization.Apply).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const int WIDTH = 1; // every pipeline sets the data set's
layout(constant_id = 2) const int HEIGHT = 1;
layout(constant_id = 3) const uint CHANNELS = 1;
layout(constant_id = 4) const uint NORMALIZE = 0; // 1: subtract mean, times invStd
const uint VALUES = uint(WIDTH * HEIGHT) * CHANNELS; // an image's

layout(push_constant) uniform Push {
    uint count;    // the batch's output values
    uint first;    // the batch starts at order[first]
    uint fill;     // 0: repeat edge pixels, 1: zero outside the image
    uint interp;   // 0: nearest neighbour, 1: bilinear
    uint perPiece; // images in each piece of the data set
    float mean[4];   // per channel, where NORMALIZE
    float invStd[4];
} p;

layout(binding = 0) readonly buffer Images0 { uint words0[]; };
layout(binding = 1) readonly buffer Images1 { uint words1[]; };
layout(binding = 2) readonly buffer Images2 { uint words2[]; };
layout(binding = 3) readonly buffer Images3 { uint words3[]; };
layout(binding = 4) readonly buffer Order { uint order[]; };  // data-set index of each sample
layout(binding = 5) readonly buffer Affines { float affine[]; }; // 6 per sample
layout(binding = 6) writeonly buffer Out { float x[]; };

// byteAt is byte b of piece k.
uint byteAt(uint k, uint b) {
    uint w;
    if (k == 0) w = words0[b >> 2];
    else if (k == 1) w = words1[b >> 2];
    else if (k == 2) w = words2[b >> 2];
    else w = words3[b >> 2];
    return (w >> (8 * (b & 3u))) & 0xffu;
}

// pixel is channel ch of (px, py) of the image at byte base of piece k.
uint pixel(uint k, uint base, uint ch, int px, int py) {
    if (p.fill == 0) {
        px = clamp(px, 0, WIDTH - 1);
        py = clamp(py, 0, HEIGHT - 1);
    } else if (px < 0 || px >= WIDTH || py < 0 || py >= HEIGHT) {
        return 0;
    }
    return byteAt(k, base + uint(py * WIDTH + px) * CHANNELS + ch);
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
// coordinate lies within [0, side-1] (where SciPy's constant mode reads
// the image). Whole pixels are split off t first, so for a whole t (shifts
// and flips) this is exact: adding t, offset and 0.5 in float32 would
// round and could cross a half.
ivec2 nearestIndex(float t, float offset, int side) {
    precise float whole = floor(t);
    precise float s = (t - whole) + offset; // the coordinate less whole
    precise float n = floor(s);
    // Exact: near a half, s - n is representable.
    precise float index = whole + n + (s - n >= 0.5 ? 1.0 : 0.0);
    bool inside = !(s < -whole || s > float(side - 1) - whole);
    // Clamped before the conversion, which is undefined far off the image.
    return ivec2(int(clamp(index, -1.0, float(side))), inside ? 1 : 0);
}

// normalized is a value in [0, 1], normalized where NORMALIZE says.
float normalized(float v, uint ch) {
    if (NORMALIZE == 0) return v;
    precise float centred = v - p.mean[ch];
    precise float scaled = centred * p.invStd[ch];
    return scaled;
}

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint s = i / VALUES;
    uint ch = i % CHANNELS;
    uint pix = (i % VALUES) / CHANNELS;
    float fx = float(pix % uint(WIDTH));
    float fy = float(pix / uint(WIDTH));
    uint a = 6 * s;
    uint image = order[p.first + s];
    uint k = image / p.perPiece;
    uint base = (image % p.perPiece) * VALUES;
    precise float tx = affine[a] * fx + affine[a + 1] * fy;
    precise float ty = affine[a + 3] * fx + affine[a + 4] * fy;
    if (p.interp == 0) {
        ivec2 nx = nearestIndex(tx, affine[a + 2], WIDTH);
        ivec2 ny = nearestIndex(ty, affine[a + 5], HEIGHT);
        x[i] = normalized((p.fill == 1 && nx.y * ny.y == 0) ? 0.0 : unit(pixel(k, base, ch, nx.x, ny.x)), ch);
        return;
    }
    precise float sx = tx + affine[a + 2];
    precise float sy = ty + affine[a + 5];
    float x0f = floor(sx);
    float y0f = floor(sy);
    float wx = sx - x0f;
    float wy = sy - y0f;
    int x0 = int(clamp(x0f, -2.0, float(WIDTH + 1)));
    int y0 = int(clamp(y0f, -2.0, float(HEIGHT + 1)));
    float top = float(pixel(k, base, ch, x0, y0)) * (1.0 - wx) + float(pixel(k, base, ch, x0 + 1, y0)) * wx;
    float bottom = float(pixel(k, base, ch, x0, y0 + 1)) * (1.0 - wx) + float(pixel(k, base, ch, x0 + 1, y0 + 1)) * wx;
    x[i] = normalized((top * (1.0 - wy) + bottom * wy) / 255.0, ch);
}

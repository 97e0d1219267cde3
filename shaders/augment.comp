#version 450
// Gathers a batch of MNIST digits from the training set held on the device
// as bytes, warps each with its own affine map (output pixel -> input
// coordinates) using bilinear interpolation, and writes float32 pixels in
// [0, 1]. One invocation per output pixel. augment.Warp is the reference;
// the arithmetic here follows it step by step.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const int SIDE = 28;
const uint PIXELS = 784;

layout(push_constant) uniform Push {
    uint count; // batch * 784 output pixels
    uint first; // the batch starts at order[first]
    uint fill;  // 0: repeat edge pixels, 1: zero outside the image
} p;

layout(binding = 0) readonly buffer Images { uint words[]; }; // uint8 pixels, 784 an image
layout(binding = 1) readonly buffer Order { uint order[]; };  // training-set index of each sample
layout(binding = 2) readonly buffer Affines { float affine[]; }; // 6 per sample
layout(binding = 3) writeonly buffer Out { float x[]; };

float pixel(uint base, int px, int py) {
    if (p.fill == 0) {
        px = clamp(px, 0, SIDE - 1);
        py = clamp(py, 0, SIDE - 1);
    } else if (px < 0 || px >= SIDE || py < 0 || py >= SIDE) {
        return 0.0;
    }
    uint b = base + uint(py * SIDE + px);
    return float((words[b >> 2] >> (8 * (b & 3u))) & 0xffu);
}

void main() {
    uint i = flatIndex();
    if (i >= p.count) return;
    uint s = i / PIXELS;
    uint pix = i % PIXELS;
    float fx = float(pix % SIDE);
    float fy = float(pix / SIDE);
    uint a = 6 * s;
    float sx = affine[a] * fx + affine[a + 1] * fy + affine[a + 2];
    float sy = affine[a + 3] * fx + affine[a + 4] * fy + affine[a + 5];
    float x0f = floor(sx);
    float y0f = floor(sy);
    float wx = sx - x0f;
    float wy = sy - y0f;
    int x0 = int(clamp(x0f, -2.0, float(SIDE + 1)));
    int y0 = int(clamp(y0f, -2.0, float(SIDE + 1)));
    uint base = order[p.first + s] * PIXELS;
    float top = pixel(base, x0, y0) * (1.0 - wx) + pixel(base, x0 + 1, y0) * wx;
    float bottom = pixel(base, x0, y0 + 1) * (1.0 - wx) + pixel(base, x0 + 1, y0 + 1) * wx;
    x[i] = (top * (1.0 - wy) + bottom * wy) / 255.0;
}

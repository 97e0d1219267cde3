#version 450
// Depthwise convolution, directly: one invocation an output value,
// y[n][oy][ox][c*M+m] = (bias) + the sum over taps (ky, then kx) of
// x[n][oy*SH-PT+ky*DH][ox*SW-PL+kx*DW][c] * w[ky][kx][c][m], the padding skipped,
// then the ReLU where flags ask for it.
#include "depthwise_common.glsl"

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Wt { float w[]; };
layout(binding = 2) readonly buffer B { float bias[]; };
layout(binding = 3) writeonly buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    uint CM = p.C * p.M;
    uint o = i % CM, c = o / p.M;
    uint ox = i / CM % p.OW, oy = i / (CM * p.OW) % p.OH, img = i / (CM * p.OW * p.OH);
    float s = (p.flags & 1u) != 0u ? bias[o] : 0.0;
    for (uint ky = 0; ky < p.KH; ky++) {
        int y0 = int(oy * p.SH + ky * p.DH) - int(p.PT);
        if (y0 < 0 || y0 >= int(p.H)) continue;
        for (uint kx = 0; kx < p.KW; kx++) {
            int x0 = int(ox * p.SW + kx * p.DW) - int(p.PL);
            if (x0 < 0 || x0 >= int(p.W)) continue;
            s += x[((img * p.H + uint(y0)) * p.W + uint(x0)) * p.C + c] * w[(ky * p.KW + kx) * CM + o];
        }
    }
    y[i] = (p.flags & 2u) != 0u ? max(s, 0.0) : s;
}

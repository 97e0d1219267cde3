#version 450
// The global norm of a gradient vector of n values, and the scale that
// clips it to maxNorm as torch.nn.utils.clip_grad_norm_ does, in two
// deterministic stages (no float atomics, the same order every step):
//   stage 0: part[c] = sum of g^2 over [c*CHUNK, (c+1)*CHUNK);
//   stage 1: one invocation sums the parts in order and writes
//            clip = (norm, min(1, maxNorm / (norm + 1e-6))).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint STAGE = 0;
layout(push_constant) uniform Push { uint n, chunk; float maxNorm; } p;
layout(binding = 0) readonly buffer G { float g[]; };
layout(binding = 1) writeonly buffer Out { float outs[]; };

void main() {
    uint i = flatIndex();
    uint chunks = (p.n + p.chunk - 1) / p.chunk;
    if (STAGE == 0) {
        if (i >= chunks) return;
        uint end = min(p.n, (i + 1) * p.chunk);
        float s = 0.0;
        for (uint m = i * p.chunk; m < end; m++) s += g[m] * g[m];
        outs[i] = s;
    } else {
        if (i != 0) return;
        float s = 0.0;
        for (uint c = 0; c < chunks; c++) s += g[c];
        float norm = sqrt(s);
        outs[0] = norm;
        outs[1] = min(1.0, p.maxNorm / (norm + 1e-6));
    }
}

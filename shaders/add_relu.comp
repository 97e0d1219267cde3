#version 450
// An add layer followed by a ReLU, as one layer (nn fuses an add layer
// into the relu layer that alone reads it):
//   MODE 0: z[i] = max(x[i] + y[i], 0);
//   MODE 1: with binding 0 the forward output z and binding 1 its
//           gradient dz, the gradient of the sum, dz where z > 0 else 0,
//           to binding 2 and, where two is set, binding 3: the gradients
//           of both inputs in one pass.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
layout(push_constant) uniform Push { uint n, two; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) readonly buffer Y { float y[]; };
layout(binding = 2) writeonly buffer Z { float z[]; };
layout(binding = 3) writeonly buffer W { float w[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    if (MODE == 0) {
        z[i] = max(x[i] + y[i], 0.0);
        return;
    }
    float g = y[i]; // loaded whether cut or not: see batchnorm_relu.comp
    g = x[i] > 0.0 ? g : 0.0;
    z[i] = g;
    if (p.two != 0u) w[i] = g;
}

#version 450
// RMSprop as torch.optim.RMSprop does it (no momentum, not centered), over
// one contiguous parameter buffer, with weight decay already in the
// gradient, rounded as PyTorch 1.13's CPU kernels round it:
//   s = fma((1 - rho) g, g, s rho)      (square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha):
//                                        addcmul's vector kernel fuses its multiply-add)
//   p = p + (-lr g) / (sqrt(s) + eps)   (p.addcdiv_(g, sqrt(s) + eps, value=-lr))
// precise keeps every other operation rounded on its own. The host gives
// 1 - rho rounded from float64, as PyTorch's value=1 - alpha; lr comes from
// the step buffer (the scheduled rate).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define STEP_BINDING 3
#include "step.glsl"

layout(push_constant) uniform Push { uint n; float rho, oneMinusRho, eps; } p;
layout(binding = 0) buffer Params { float w[]; };
layout(binding = 1) readonly buffer Grads { float g[]; };
layout(binding = 2) buffer SquareAvg { float s[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    float gi = g[i];
    precise float si = fma(p.oneMinusRho * gi, gi, s[i] * p.rho);
    s[i] = si;
    precise float wi = w[i] + (-stepValues.lr * gi) / (sqrt(si) + p.eps);
    w[i] = wi;
}

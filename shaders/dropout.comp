#version 450
// Inverted dropout: y[i] = x[i] / (1 - rate) where the hash of (seed,
// step, i) keeps element i, else 0. The same expression serves forward and
// backward (x = dy, y = dx) since the hash reproduces the mask. Seed and
// step come from the step buffer, so a recording made once serves every
// step; nn/ref reproduces the mask exactly.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "hash.glsl"
#define STEP_BINDING 2
#include "step.glsl"

layout(push_constant) uniform Push { uint n; float rate; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer Y { float y[]; };

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    bool keep = uniform01(hash(i ^ hash(stepValues.counter ^ hash(stepValues.seed)))) >= p.rate;
    y[i] = keep ? x[i] / (1.0 - p.rate) : 0.0;
}

#version 450
// Adds the batch's per-sample loss and correct flags to running totals,
// in sample order, with Kahan summation: deterministic, and exact enough
// over an epoch in float32. One invocation.
// totals: [loss, lossCompensation, correct, samples], the fields of
// nn/kernels' Totals in their order (TestTotalsLayout checks this line).
#extension GL_GOOGLE_include_directive : require
#define STEP_BINDING 1
#include "step.glsl"

layout(local_size_x = 1) in;
layout(binding = 0) readonly buffer Stats { float stats[]; };
layout(binding = 2) buffer Totals { float total[]; };

void main() {
    float sum = total[0], comp = total[1];
    float correct = total[2];
    for (uint s = 0; s < stepValues.valid; s++) {
        float y = stats[3 * s] - comp;
        float t = sum + y;
        comp = (t - sum) - y;
        sum = t;
        correct += stats[3 * s + 1];
    }
    total[0] = sum;
    total[1] = comp;
    total[2] = correct;
    total[3] += float(stepValues.valid);
}

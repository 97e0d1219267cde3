#version 450
// Adds the batch's per-sample loss and correct flags to running totals,
// in sample order, with Kahan summation: deterministic, and exact enough
// over an epoch in float32. One invocation.
#extension GL_GOOGLE_include_directive : require
#define STEP_BINDING 1
#include "step.glsl"

layout(local_size_x = 1) in;
layout(binding = 0) readonly buffer Stats { float stats[]; };
// The running totals, as nn/kernels' Totals declares them (TestTotalsLayout
// checks that the two agree).
layout(binding = 2) buffer Totals {
    float loss;             // the samples' losses summed
    float lossCompensation; // the sum's Kahan compensation
    float correct;          // the samples classified right
    float samples;          // the samples counted
} totals;

void main() {
    float sum = totals.loss, comp = totals.lossCompensation;
    float correct = totals.correct;
    for (uint s = 0; s < stepValues.valid; s++) {
        float y = stats[3 * s] - comp;
        float t = sum + y;
        comp = (t - sum) - y;
        sum = t;
        correct += stats[3 * s + 1];
    }
    totals.loss = sum;
    totals.lossCompensation = comp;
    totals.correct = correct;
    totals.samples += float(stepValues.valid);
}

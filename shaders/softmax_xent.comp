#version 450
// Softmax and categorical cross-entropy, fused and numerically stable: one
// invocation per sample. For sample s < valid with label l:
//   loss = log(sum_j exp(z_j - max z)) - (z_l - max z)
//   dz_j = (softmax(z)_j - [j == l]) / valid
// and stats[s] = (loss, correct, argmax). With label smoothing e (as
// PyTorch's CrossEntropyLoss(label_smoothing=e)) the target is 1 - e + e/C
// at l and e/C elsewhere:
//   loss = log(sum_j exp(z_j - max z)) - (1 - e)(z_l - max z) - e/C sum_j (z_j - max z)
//   dz_j = (softmax(z)_j - (1 - e)[j == l] - e/C) / valid
// Samples at or past valid (the
// padding of a last, partial batch) get dz = 0 and loss 0. A label l >=
// classes is counted in labelErrors, for the host to report, and taken as
// classes - 1, so that no read leaves the sample's row whatever the label.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define STEP_BINDING 2
#include "step.glsl"

layout(push_constant) uniform Push { uint batch, classes; float smoothing; } p;
layout(binding = 0) readonly buffer Logits { float z[]; };
layout(binding = 1) readonly buffer Labels { uint labelWords[]; }; // uint8 labels of the whole set
layout(binding = 3) readonly buffer Order { uint order[]; };       // the batch's indices into the set
layout(binding = 4) writeonly buffer DZ { float dz[]; };
layout(binding = 5) writeonly buffer Stats { float stats[]; };     // 3 per sample
layout(binding = 6) buffer LabelErrors { uint labelErrors; };

void main() {
    uint s = flatIndex();
    if (s >= p.batch) return;
    uint row = s * p.classes;
    if (s >= stepValues.valid) {
        for (uint j = 0; j < p.classes; j++) dz[row + j] = 0.0;
        stats[3 * s] = 0.0; stats[3 * s + 1] = 0.0; stats[3 * s + 2] = 0.0;
        return;
    }
    uint idx = order[s];
    uint label = (labelWords[idx >> 2] >> (8 * (idx & 3u))) & 0xffu;
    if (label >= p.classes) {
        atomicAdd(labelErrors, 1u);
        label = p.classes - 1u;
    }
    float zmax = z[row];
    uint best = 0;
    for (uint j = 1; j < p.classes; j++) {
        if (z[row + j] > zmax) { zmax = z[row + j]; best = j; }
    }
    float sum = 0.0;
    for (uint j = 0; j < p.classes; j++) sum += exp(z[row + j] - zmax);
    float inv = 1.0 / (sum * float(stepValues.valid));
    if (p.smoothing == 0.0) {
        for (uint j = 0; j < p.classes; j++) {
            float g = exp(z[row + j] - zmax) * inv;
            if (j == label) g -= 1.0 / float(stepValues.valid);
            dz[row + j] = g;
        }
        stats[3 * s] = log(sum) - (z[row + label] - zmax);
    } else {
        float other = p.smoothing / float(p.classes); // the target of every class but l
        float spread = 0.0;                           // sum_j (z_j - max z)
        for (uint j = 0; j < p.classes; j++) {
            float target = j == label ? 1.0 - p.smoothing + other : other;
            dz[row + j] = exp(z[row + j] - zmax) * inv - target / float(stepValues.valid);
            spread += z[row + j] - zmax;
        }
        stats[3 * s] = log(sum) - (1.0 - p.smoothing) * (z[row + label] - zmax) - other * spread;
    }
    stats[3 * s + 1] = best == label ? 1.0 : 0.0;
    stats[3 * s + 2] = float(best);
}

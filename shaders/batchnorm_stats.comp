#version 450
// Batch normalization's per-channel statistics of a rows x C matrix (NHWC
// values, a row per pixel) over the step's valid samples only: the padding
// of a last, partial batch counts for nothing. Deterministic, in stages:
//   STAGE 0: for each chunk of CHUNK rows and channel c, the chunk's mean
//            and sum of squared deviations, to part;
//   STAGE 1: per channel, the chunks merged in order (Chan, Golub and
//            LeVeque) into the mean and the biased variance: stats holds
//            the mean at c and 1/sqrt(var + eps) at C + c. With UPDATE,
//            the moving averages follow them as Keras 2.2's TensorFlow
//            backend updates them: with the variance unbiased (n / (n - 1
//            - eps)), into TensorFlow's zero-debiased moving average over
//            the step counter's t updates, which forgets the initial
//            values: biased = moving (1 - momentum^(t-1)); biased -=
//            (biased - batch) (1 - momentum); moving = biased / (1 -
//            momentum^t);
//   STAGE 2: stats from the moving averages instead (evaluation), the
//            other bindings unused.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 1) const uint STAGE = 0;
layout(constant_id = 2) const uint UPDATE = 0;
// rows: x's, of the batch or of a slice of it that starts at row first
// (a multiple of chunk: STAGE 0 runs in slices where the batch passes the
// device's storage-buffer range, each writing its chunks in place in
// part); pixels: rows a sample.
layout(push_constant) uniform Push { uint rows, C, chunk, pixels; float eps, momentum; uint first; } p;
layout(binding = 0) readonly buffer X { float x[]; };
#define STEP_BINDING 1
#include "step.glsl"
layout(binding = 2) buffer Part { float part[]; };          // 2 a chunk and channel
layout(binding = 3) writeonly buffer Stats { float stats[]; };
layout(binding = 4) buffer MovingMean { float movingMean[]; };
layout(binding = 5) buffer MovingVar { float movingVar[]; };

void main() {
    uint i = flatIndex();
    if (STAGE == 2) {
        if (i >= p.C) return;
        stats[i] = movingMean[i];
        stats[p.C + i] = 1.0 / sqrt(movingVar[i] + p.eps);
        return;
    }
    uint valid = validRows(stepValues.valid * p.pixels, p.first, p.rows);
    if (STAGE == 0) {
        uint chunks = (p.rows + p.chunk - 1) / p.chunk;
        if (i >= chunks * p.C) return;
        uint c = i % p.C;
        uint begin = (i / p.C) * p.chunk, end = min(valid, begin + p.chunk);
        float mean = 0.0, m2 = 0.0;
        if (begin < end) {
            for (uint r = begin; r < end; r++) mean += x[r * p.C + c];
            mean /= float(end - begin);
            for (uint r = begin; r < end; r++) {
                float d = x[r * p.C + c] - mean;
                m2 += d * d;
            }
        }
        part[2 * i] = mean;
        part[2 * i + 1] = m2;
        return;
    }
    if (i >= p.C) return;
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint k = 0; k * p.chunk < valid; k++) {
        float nk = float(min(valid - k * p.chunk, p.chunk));
        uint at = 2 * (k * p.C + i);
        float d = part[at] - mean;
        float total = n + nk;
        mean += d * (nk / total);
        m2 += part[at + 1] + d * d * (n * nk / total);
        n = total;
    }
    float var = m2 / n;
    stats[i] = mean;
    stats[p.C + i] = 1.0 / sqrt(var + p.eps);
    if (UPDATE == 1) {
        float t = float(stepValues.counter);
        float before = 1.0 - pow(p.momentum, t - 1.0), after = 1.0 - pow(p.momentum, t);
        float biasedMean = movingMean[i] * before;
        float biasedVar = movingVar[i] * before;
        biasedMean -= (biasedMean - mean) * (1.0 - p.momentum);
        biasedVar -= (biasedVar - var * (n / (n - (1.0 + p.eps)))) * (1.0 - p.momentum);
        movingMean[i] = biasedMean / after;
        movingVar[i] = biasedVar / after;
    }
}

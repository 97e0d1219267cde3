#version 450
// C = op(A) * op(B) (+ bias) (ReLU) in the GPU style: a workgroup stages
// BMxBK tiles of A and BKxBN tiles of B in shared memory; each invocation
// accumulates TMxTN outputs in registers. Rows and columns owned by an
// invocation are interleaved (stride BM/TM, BN/TN) so neighbouring
// invocations read neighbouring shared-memory words. Transposes are
// resolved while loading tiles, so every variant reads shared memory alike.

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
layout(constant_id = 5) const bool TRANS_A = false; // A is stored K x M
layout(constant_id = 6) const bool TRANS_B = false; // B is stored N x K
layout(constant_id = 7) const bool BIAS = false;
layout(constant_id = 8) const bool RELU = false;
// Must equal (BM/TM)*(BN/TN); set by the host.
layout(local_size_x_id = 9) in;

const uint WG = (BM / TM) * (BN / TN);
const uint THREADS_N = BN / TN;
const uint THREADS_M = BM / TM;

layout(push_constant) uniform Push { uint M, N, K; } p;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer C { float c[]; };
layout(binding = 3) readonly buffer Bias { float bias[]; };

shared float As[BK * BM]; // [k][m]
shared float Bs[BK * BN]; // [k][n]

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint tn = tid % THREADS_N;
    uint tm = tid / THREADS_N;
    uint row0 = gl_WorkGroupID.y * BM;
    uint col0 = gl_WorkGroupID.x * BN;

    float acc[TM * TN];
    for (uint i = 0; i < TM * TN; i++) acc[i] = 0.0;
    float av[TM];
    float bv[TN];

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        // Consecutive invocations load consecutive addresses of A and B.
        for (uint i = tid; i < BM * BK; i += WG) {
            uint m, k;
            if (TRANS_A) { k = i / BM; m = i % BM; } else { m = i / BK; k = i % BK; }
            uint gm = row0 + m, gk = k0 + k;
            float v = 0.0;
            if (gm < p.M && gk < p.K) v = TRANS_A ? a[gk * p.M + gm] : a[gm * p.K + gk];
            As[k * BM + m] = v;
        }
        for (uint i = tid; i < BN * BK; i += WG) {
            uint n, k;
            if (TRANS_B) { n = i / BK; k = i % BK; } else { k = i / BN; n = i % BN; }
            uint gn = col0 + n, gk = k0 + k;
            float v = 0.0;
            if (gn < p.N && gk < p.K) v = TRANS_B ? b[gn * p.K + gk] : b[gk * p.N + gn];
            Bs[k * BN + n] = v;
        }
        barrier();
        for (uint k = 0; k < BK; k++) {
            for (uint i = 0; i < TM; i++) av[i] = As[k * BM + tm + i * THREADS_M];
            for (uint j = 0; j < TN; j++) bv[j] = Bs[k * BN + tn + j * THREADS_N];
            for (uint i = 0; i < TM; i++)
                for (uint j = 0; j < TN; j++) acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
        }
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        uint m = row0 + tm + i * THREADS_M;
        if (m >= p.M) continue;
        for (uint j = 0; j < TN; j++) {
            uint n = col0 + tn + j * THREADS_N;
            if (n >= p.N) continue;
            float v = acc[i * TN + j];
            if (BIAS) v += bias[n];
            if (RELU) v = max(v, 0.0);
            c[m * p.N + n] = v;
        }
    }
}

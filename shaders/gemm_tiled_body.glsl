// The body of the GPU-style GEMM kernels: C = A*B with a workgroup staging
// BMxBK tiles of A and BKxBN tiles of B in shared memory; each invocation
// accumulates TMxTN outputs in registers. Rows and columns owned by an
// invocation are interleaved (stride BM/TM, BN/TN) so neighbouring
// invocations read neighbouring shared-memory words.
//
// Specialization constants 0-4 and 9 belong to this body; the including
// shader declares M, N, K (uint expressions), the constants A_KMAJOR and
// B_NMAJOR (which index of A, B is contiguous in memory, so tile loads are
// coalesced) and these functions:
//   float elemA(uint m, uint k)   A[m][k], zero past M or K
//   float elemB(uint k, uint n)   B[k][n], zero past K or N
//   void storeC1(uint m, uint n, float v)

layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint TM = 4;
layout(constant_id = 4) const uint TN = 4;
// Must equal (BM/TM)*(BN/TN); set by the host.
layout(local_size_x_id = 9) in;

const uint THREADS_N = BN / TN;
const uint THREADS_M = BM / TM;
const uint WG = THREADS_M * THREADS_N;

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

    // A split k range starts and ends on multiples of BK (but at K).
    for (uint k0 = K_BEGIN; k0 < K_END; k0 += BK) {
        for (uint i = tid; i < BM * BK; i += WG) {
            uint m, k;
            if (A_KMAJOR) { k = i / BM; m = i % BM; } else { m = i / BK; k = i % BK; }
            As[k * BM + m] = elemA(row0 + m, k0 + k);
        }
        for (uint i = tid; i < BN * BK; i += WG) {
            uint n, k;
            if (B_NMAJOR) { n = i / BK; k = i % BK; } else { k = i / BN; n = i % BN; }
            Bs[k * BN + n] = elemB(k0 + k, col0 + n);
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
        if (m >= M) continue;
        for (uint j = 0; j < TN; j++) {
            uint n = col0 + tn + j * THREADS_N;
            if (n < N) storeC1(m, n, acc[i * TN + j]);
        }
    }
}

// The body of the warp-tiled GEMM kernels (GPUs): C = A*B over the k range
// [K_BEGIN, K_END) of this workgroup layer, in the geometry of
// stage_tile.glsl and warp_tile.glsl. Per K-step of BK: the tiles fetched last step go to
// shared memory (padded by one vec4 a row of k, against bank conflicts),
// the next step's tiles are fetched into registers while this step's are
// multiplied (so global loads overlap arithmetic), and each invocation
// updates its WMITER x WNITER blocks of 4 x 4 accumulators with vec4 FMAs.
//
// The including shader declares M, N, K, K_BEGIN, K_END (uint
// expressions; the range starts on a multiple of BK and ends there or at
// K), the constants A_KMAJOR and B_NMAJOR (which index of A, B is
// contiguous) and, besides gemm_io.glsl's buffers:
//   void aBegin(uint row0)         once, before the first fetch
//   vec4 aFetch(uint s, uint k0, out bool zero)   slot s of the A tile at
//       k0: row-major, A[row0 + rowSlotRow(s)][k0 + rowSlotK(s) ..+3];
//       k-major, A[row0 + colSlotRow(s, BM) ..+3][k0 + colSlotK(s, BM)].
//       Past M or K (or off the image) it sets zero and loads from
//       anywhere in A: the body zeroes the value when it stores the tile,
//       a step later, so that no wait for the load sits between the fetch
//       and this step's arithmetic.
//   void aNext()                   after each tile's fetch: k0 moves on BK
// aBegin and aNext let a gathering A (a convolution's) work out its
// addresses once, with no division in the loop.

#include "warp_tile.glsl"

const uint BMV = (BM + 4) / 4; // vec4s a row of k of the padded shared tiles
const uint BNV = (BN + 4) / 4;
shared vec4 As[BK * BMV]; // [k][m]
shared vec4 Bs[BK * BNV]; // [k][n]

#include "gemm_b.glsl"

void storeTiles(vec4 ra[MAX_VECS], bool za[MAX_VECS], vec4 rb[MAX_VECS], bool zb[MAX_VECS]) {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s < A_VECS) {
            vec4 v = za[s] ? vec4(0.0) : ra[s];
            if (A_KMAJOR) {
                As[colSlotK(s, BM) * BMV + colSlotVec(s, BM)] = v;
            } else {
                uint m = rowSlotRow(s), at = rowSlotK(s) * BMV + m / 4;
                [[unroll]] for (uint j = 0; j < 4; j++) As[at + j * BMV][m % 4] = v[j];
            }
        }
    }
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s < B_VECS) {
            vec4 v = zb[s] ? vec4(0.0) : rb[s];
            if (!B_NMAJOR) {
                Bs[colSlotK(s, BN) * BNV + colSlotVec(s, BN)] = v;
            } else {
                uint n = rowSlotRow(s), at = rowSlotK(s) * BNV + n / 4;
                [[unroll]] for (uint j = 0; j < 4; j++) Bs[at + j * BNV][n % 4] = v[j];
            }
        }
    }
}

#include "gemm_bias.glsl"

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint warp = tid / WARP, lane = tid % WARP;
    // The vec4 of the shared tiles where the invocation's first block
    // starts: its rows wm0.., columns wn0...
    uint aVec = warp / (BN / WN) * (WM / 4) + lane / WTN;
    uint bVec = warp % (BN / WN) * (WN / 4) + lane % WTN;
    uint row0 = gl_WorkGroupID.y * BM;
    uint col0 = gl_WorkGroupID.x * BN;

    vec4 acc[MAX_BLOCKS * 4 * MAX_BLOCKS];
    [[unroll]] for (uint i = 0; i < MAX_BLOCKS * 4 * MAX_BLOCKS; i++) acc[i] = vec4(0.0);

    vec4 ra[MAX_VECS], rb[MAX_VECS];
    bool za[MAX_VECS], zb[MAX_VECS];
    aBegin(row0);
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < A_VECS) ra[s] = aFetch(s, K_BEGIN, za[s]);
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < B_VECS) rb[s] = bFetch(s, K_BEGIN, col0, zb[s]);
    aNext();

    for (uint k0 = K_BEGIN; k0 < K_END; k0 += BK) {
        storeTiles(ra, za, rb, zb);
        barrier();
        if (k0 + BK < K_END) {
            [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < A_VECS) ra[s] = aFetch(s, k0 + BK, za[s]);
            [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < B_VECS) rb[s] = bFetch(s, k0 + BK, col0, zb[s]);
            aNext();
        }
        // KUNROLL k a pass (warp_tile.glsl), unrolled to a fixed bound; the
        // shared tiles are read at offsets the compiler can fold.
        for (uint kp = 0; kp < BK; kp += KUNROLL) {
            [[unroll]] for (uint kk = 0; kk < MAX_KUNROLL; kk++) {
                if (kk < KUNROLL) {
                    uint k = kp + kk;
                    vec4 av[MAX_BLOCKS], bv[MAX_BLOCKS];
                    [[unroll]] for (uint i = 0; i < MAX_BLOCKS; i++) if (i < WMITER) av[i] = As[k * BMV + aVec + i * WTM];
                    [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++) if (j < WNITER) bv[j] = Bs[k * BNV + bVec + j * WTN];
                    [[unroll]] for (uint i = 0; i < MAX_BLOCKS; i++)
                        [[unroll]] for (uint r = 0; r < 4; r++)
                            [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++)
                                if (i < WMITER && j < WNITER) acc[(i * 4 + r) * MAX_BLOCKS + j] = fma(vec4(av[i][r]), bv[j], acc[(i * 4 + r) * MAX_BLOCKS + j]);
                }
            }
        }
        barrier();
    }

    // The epilogue: the bias of each block of columns read once, then
    // ReLU, and C written by vec4s at offsets from one row's (in vec4s:
    // N is a multiple of 4).
    vec4 bv[MAX_BLOCKS];
    [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++) if (j < WNITER) bv[j] = biasAt(col0 + (bVec + j * WTN) * 4);
    uint rowVecs = N / 4;
    uint first = (C_SLICE / 4) + (row0 + aVec * 4) * rowVecs + col0 / 4 + bVec;
    [[unroll]] for (uint i = 0; i < MAX_BLOCKS; i++)
        [[unroll]] for (uint r = 0; r < 4; r++) {
            uint m = row0 + (aVec + i * WTM) * 4 + r;
            if (i >= WMITER || m >= M) continue;
            uint at = first + (i * WTM * 4 + r) * rowVecs;
            [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++) {
                if (j >= WNITER || col0 + (bVec + j * WTN) * 4 >= N) continue;
                vec4 v = acc[(i * 4 + r) * MAX_BLOCKS + j];
                if (BIAS) v += bv[j];
                if (RELU) v = max(v, vec4(0.0));
                c4[at + j * WTN] = v;
            }
        }
}

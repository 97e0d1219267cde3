// The body of the warp-tiled GEMM kernels (GPUs): C = A*B over the k range
// [K_BEGIN, K_END) of this workgroup layer, in the geometry of
// warp_tile.glsl. Per K-step of BK: the tiles fetched last step go to
// shared memory (padded by one vec4 a row of k, against bank conflicts),
// the next step's tiles are fetched into registers while this step's are
// multiplied (so global loads overlap arithmetic), and each invocation
// updates its WMITER x WNITER blocks of 4 x 4 accumulators with vec4 FMAs.
//
// The including shader declares M, N, K, K_BEGIN, K_END (uint
// expressions; the range starts on a multiple of BK and ends there or at
// K), the constants A_KMAJOR and B_NMAJOR (which index of A, B is
// contiguous) and, besides gemm_io.glsl's loadB, b, b4 and storeC:
//   void aBegin(uint row0)         once, before the first fetch
//   vec4 aFetch(uint s, uint k0)   slot s of the A tile at k0: row-major,
//       A[row0 + rowSlotRow(s)][k0 + rowSlotK(s) ..+3]; k-major,
//       A[row0 + colSlotRow(s, BM) ..+3][k0 + colSlotK(s, BM)]; zero past
//       M or K
//   void aNext()                   after each tile's fetch: k0 moves on BK
// aBegin and aNext let a gathering A (a convolution's) work out its
// addresses once, with no division in the loop.

const uint BMP = BM + 4; // padded rows of the shared tiles
const uint BNP = BN + 4;
shared vec4 As[BK * BMP / 4]; // [k][m]
shared vec4 Bs[BK * BNP / 4]; // [k][n]

// Slot s of the B tile at k0 (columns col0..): row-major B by vec4s of n,
// B stored N x K by vec4s of k.
vec4 bFetch(uint s, uint k0, uint col0) {
    if (!B_NMAJOR) return loadB(k0 + colSlotK(s, BN), col0 + colSlotRow(s, BN));
    uint n = col0 + rowSlotRow(s), k = k0 + rowSlotK(s);
    if ((K & 3u) == 0) return (n < N && k < K) ? b4[(n * K + k) >> 2] : vec4(0.0);
    return vec4(elemB(k, n), elemB(k + 1, n), elemB(k + 2, n), elemB(k + 3, n));
}

void storeTiles(vec4 ra[MAX_VECS], vec4 rb[MAX_VECS]) {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        if (A_KMAJOR) {
            As[(colSlotK(s, BM) * BMP + colSlotRow(s, BM)) / 4] = ra[s];
        } else {
            uint m = rowSlotRow(s), k = rowSlotK(s);
            [[unroll]] for (uint j = 0; j < 4; j++) As[((k + j) * BMP + m) / 4][m % 4] = ra[s][j];
        }
    }
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= B_VECS) break;
        if (!B_NMAJOR) {
            Bs[(colSlotK(s, BN) * BNP + colSlotRow(s, BN)) / 4] = rb[s];
        } else {
            uint n = rowSlotRow(s), k = rowSlotK(s);
            [[unroll]] for (uint j = 0; j < 4; j++) Bs[((k + j) * BNP + n) / 4][n % 4] = rb[s][j];
        }
    }
}

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint warp = tid / WARP, lane = tid % WARP;
    uint wm0 = warp / (BN / WN) * WM + lane / WTN * 4;
    uint wn0 = warp % (BN / WN) * WN + lane % WTN * 4;
    uint row0 = gl_WorkGroupID.y * BM;
    uint col0 = gl_WorkGroupID.x * BN;

    vec4 acc[MAX_BLOCKS * 4 * MAX_BLOCKS];
    [[unroll]] for (uint i = 0; i < MAX_BLOCKS * 4 * MAX_BLOCKS; i++) acc[i] = vec4(0.0);

    vec4 ra[MAX_VECS], rb[MAX_VECS];
    aBegin(row0);
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < A_VECS) ra[s] = aFetch(s, K_BEGIN);
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < B_VECS) rb[s] = bFetch(s, K_BEGIN, col0);
    aNext();

    for (uint k0 = K_BEGIN; k0 < K_END; k0 += BK) {
        storeTiles(ra, rb);
        barrier();
        if (k0 + BK < K_END) {
            [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < A_VECS) ra[s] = aFetch(s, k0 + BK);
            [[unroll]] for (uint s = 0; s < MAX_VECS; s++) if (s < B_VECS) rb[s] = bFetch(s, k0 + BK, col0);
            aNext();
        }
        // Four k a pass, unrolled: static shared-memory offsets for GPUs,
        // and a quarter of the code a full unroll gives lavapipe's LLVM
        // to compile (seconds a pipeline).
        for (uint k4 = 0; k4 < BK; k4 += 4) {
            [[unroll]] for (uint kk = 0; kk < 4; kk++) {
                uint k = k4 + kk;
                vec4 av[MAX_BLOCKS], bv[MAX_BLOCKS];
                [[unroll]] for (uint i = 0; i < MAX_BLOCKS; i++) if (i < WMITER) av[i] = As[(k * BMP + wm0 + i * WTM * 4) / 4];
                [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++) if (j < WNITER) bv[j] = Bs[(k * BNP + wn0 + j * WTN * 4) / 4];
                [[unroll]] for (uint i = 0; i < MAX_BLOCKS; i++)
                    [[unroll]] for (uint r = 0; r < 4; r++)
                        [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++)
                            if (i < WMITER && j < WNITER) acc[(i * 4 + r) * MAX_BLOCKS + j] = fma(vec4(av[i][r]), bv[j], acc[(i * 4 + r) * MAX_BLOCKS + j]);
            }
        }
        barrier();
    }

    [[unroll]] for (uint i = 0; i < MAX_BLOCKS; i++)
        [[unroll]] for (uint r = 0; r < 4; r++) {
            uint m = row0 + wm0 + i * WTM * 4 + r;
            if (i >= WMITER || m >= M) continue;
            [[unroll]] for (uint j = 0; j < MAX_BLOCKS; j++) {
                uint n = col0 + wn0 + j * WTN * 4;
                if (j < WNITER && n < N) storeC(m, n, acc[(i * 4 + r) * MAX_BLOCKS + j]);
            }
        }
}

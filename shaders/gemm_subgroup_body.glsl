// The body of the subgroup GEMM kernels: C = A*B for lavapipe and other
// CPUs, one 8-lane subgroup per workgroup and no shared memory. On
// lavapipe every buffer or shared-memory load is a loop over the lanes, so
// loads are few and wide: lanes load vec4s of A and B and pass the A values
// between them with subgroupBroadcast. A workgroup computes a 16x64 tile of
// C; each lane owns 16 rows x 8 columns.
//
// The including shader declares M, N, K (uint expressions), the
// specialization constant A_KMAJOR and these functions:
//   void aBegin(uint row0, uint lane)  once, before the loop over k
//   void aStep(uint k)                 for each k after K_BEGIN (multiples of 4)
//   vec4 loadArow(uint m, uint k, uint j)  A[m][k..k+3], zero past M or K;
//       m is the lane's row j (0: row0+lane, 1: row0+8+lane)  (A_KMAJOR false)
//   vec4 loadAcol(uint k, uint m, uint j)  A[m..m+3][k], zero past M or K;
//       k is k0 + lane/2, m is row0 + 8*(lane&1) + 4*j       (A_KMAJOR true)
//   vec4 loadB(uint k, uint n)     B[k][n..n+3], zero past K or N
//   void storeC(uint m, uint n, vec4 v)  C[m][n..n+3], only columns < N
// aBegin and aStep let a gathering A (a convolution's) keep its index
// arithmetic out of the loads: integer division is slow on a CPU.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require

layout(local_size_x = 8) in;

// Row R of the tile from lane L's row-major A registers AV.
#define ROW_STEP(R, AV, L) { \
    vec4 s = subgroupBroadcast(AV, L); \
    acc[2 * R] += s.x * bv[0] + s.y * bv[2] + s.z * bv[4] + s.w * bv[6]; \
    acc[2 * R + 1] += s.x * bv[1] + s.y * bv[3] + s.z * bv[5] + s.w * bv[7]; }

// Rows 4G..4G+3 at k+KK, held by lane L as the vec4 AV (k-major A).
#define COL_STEP(G, AV, L, KK) { \
    vec4 s = subgroupBroadcast(AV, L); \
    acc[8 * G] += s.x * bv[2 * KK]; acc[8 * G + 1] += s.x * bv[2 * KK + 1]; \
    acc[8 * G + 2] += s.y * bv[2 * KK]; acc[8 * G + 3] += s.y * bv[2 * KK + 1]; \
    acc[8 * G + 4] += s.z * bv[2 * KK]; acc[8 * G + 5] += s.z * bv[2 * KK + 1]; \
    acc[8 * G + 6] += s.w * bv[2 * KK]; acc[8 * G + 7] += s.w * bv[2 * KK + 1]; }

#define K_STEP(KK) COL_STEP(0, a0, 2 * KK, KK) COL_STEP(1, a1, 2 * KK, KK) \
    COL_STEP(2, a0, 2 * KK + 1, KK) COL_STEP(3, a1, 2 * KK + 1, KK)

void main() {
    uint lane = gl_SubgroupInvocationID;
    uint row0 = gl_WorkGroupID.y * 16;
    uint col = gl_WorkGroupID.x * 64 + lane * 8;

    vec4 acc[32];
    for (int i = 0; i < 32; i++) acc[i] = vec4(0.0);

    aBegin(row0, lane);
    for (uint k = K_BEGIN; k < K_END; k += 4) {
        if (k != K_BEGIN) aStep(k);
        vec4 bv[8];
        for (uint kk = 0; kk < 4; kk++) {
            bv[2 * kk] = loadB(k + kk, col);
            bv[2 * kk + 1] = loadB(k + kk, col + 4);
        }
        if (!A_KMAJOR) {
            vec4 a0 = loadArow(row0 + lane, k, 0);
            vec4 a1 = loadArow(row0 + 8 + lane, k, 1);
            ROW_STEP(0, a0, 0) ROW_STEP(1, a0, 1) ROW_STEP(2, a0, 2) ROW_STEP(3, a0, 3)
            ROW_STEP(4, a0, 4) ROW_STEP(5, a0, 5) ROW_STEP(6, a0, 6) ROW_STEP(7, a0, 7)
            ROW_STEP(8, a1, 0) ROW_STEP(9, a1, 1) ROW_STEP(10, a1, 2) ROW_STEP(11, a1, 3)
            ROW_STEP(12, a1, 4) ROW_STEP(13, a1, 5) ROW_STEP(14, a1, 6) ROW_STEP(15, a1, 7)
        } else {
            // Lane l holds rows 8*(l&1) .. +7 of column k + l/2.
            uint r = row0 + 8 * (lane & 1u);
            uint kk = k + (lane >> 1);
            vec4 a0 = loadAcol(kk, r, 0);
            vec4 a1 = loadAcol(kk, r + 4, 1);
            K_STEP(0) K_STEP(1) K_STEP(2) K_STEP(3)
        }
    }

    // The host picks these kernels only for 8-lane subgroups; should a
    // driver run one otherwise, the result is NaN rather than silently wrong.
    float poison = gl_SubgroupSize == 8 ? 0.0 : uintBitsToFloat(0x7fc00000u);

    for (uint r = 0; r < 16; r++) {
        uint m = row0 + r;
        if (m >= M) break;
        for (uint h = 0; h < 2; h++) {
            uint n = col + 4 * h;
            if (n >= N) break;
            storeC(m, n, acc[2 * r + h] + poison);
        }
    }
}

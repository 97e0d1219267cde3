// The body of the subgroup GEMM kernels: C = A*B for lavapipe and other
// CPUs, one 8-lane subgroup per workgroup and no shared memory. On
// lavapipe every buffer load is a loop over the lanes, so loads are few
// and wide: lanes load vec4s of A and B and pass the A values between
// them with subgroupBroadcast. A workgroup computes a TILE_ROWS x
// TILE_COLS tile of C; each lane owns TILE_ROWS rows x TILE_COLS/8 columns.
// 32 columns suit products only 32 wide, which 64 would half waste. Taller tiles load each
// B value for more rows (1.75x the rate of 16 rows at 64 on lavapipe, at
// the price of work wasted past M): the tuner picks per shape.
//
// The including shader declares M, N, K (uint expressions), the
// specialization constant A_KMAJOR and these functions:
//   void aBegin(uint row0, uint lane)  once, before the loop over k
//   void aStep(uint k)                 for each k after K_BEGIN (multiples of 4)
//   vec4 loadArow(uint m, uint k, uint j)  A[m][k..k+3], zero past M or K;
//       m is the lane's row j: row0 + 8*j + lane           (A_KMAJOR false)
//   vec4 loadAcol(uint k, uint m, uint j)  A[m..m+3][k], zero past M or K;
//       k is k0 + lane/2, m is row0 + 16*(j/2) + 8*(lane&1) + 4*(j&1)
//                                                          (A_KMAJOR true)
//   vec4 loadB(uint k, uint n)     B[k][n..n+3], zero past K or N
//   void storeC(uint m, uint n, vec4 v)  C[m][n..n+3], only columns < N
// aBegin and aStep let a gathering A (a convolution's) keep its index
// arithmetic out of the loads: integer division is slow on a CPU.
//
// Every block of rows is written out, guarded by a test of the constant
// TILE_ROWS, rather than looped over: lavapipe keeps an array indexed in
// a loop it does not unroll in memory, one lane at a time (4x slower).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require

layout(local_size_x = 8) in;
// 16, 32, 48 or 64.
layout(constant_id = 8) const uint TILE_ROWS = 16;
// 64 or 32.
layout(constant_id = 9) const uint TILE_COLS = 64;
const bool WIDE = TILE_COLS == 64;

// Row R of the tile from lane L's row-major A registers AV.
#define ROW_STEP(R, AV, L) { \
    vec4 s = subgroupBroadcast(AV, L); \
    acc[2 * (R)] += s.x * bv[0] + s.y * bv[2] + s.z * bv[4] + s.w * bv[6]; \
    if (WIDE) acc[2 * (R) + 1] += s.x * bv[1] + s.y * bv[3] + s.z * bv[5] + s.w * bv[7]; }

// The 8 rows of block G, held one a lane.
#define ROW_BLOCK(G) if (TILE_ROWS > 8 * G) { \
    vec4 av = loadArow(row0 + 8 * G + lane, k, G); \
    ROW_STEP(8 * G, av, 0) ROW_STEP(8 * G + 1, av, 1) ROW_STEP(8 * G + 2, av, 2) ROW_STEP(8 * G + 3, av, 3) \
    ROW_STEP(8 * G + 4, av, 4) ROW_STEP(8 * G + 5, av, 5) ROW_STEP(8 * G + 6, av, 6) ROW_STEP(8 * G + 7, av, 7) }

// Row R of the tile, k-major: A0..A3 are its A values at k..k+3. Each
// accumulator takes its four products in one update, as ROW_STEP's do.
#define ACC_ROW(R, A0, A1, A2, A3) { \
    acc[2 * (R)] += A0 * bv[0] + A1 * bv[2] + A2 * bv[4] + A3 * bv[6]; \
    if (WIDE) acc[2 * (R) + 1] += A0 * bv[1] + A1 * bv[3] + A2 * bv[5] + A3 * bv[7]; }

// Rows R..R+3, held as the vec4 AV by the lanes of one parity (HALF) at
// k + lane/2.
#define COL_GROUP(R, AV, HALF) { \
    vec4 s0 = subgroupBroadcast(AV, HALF), s1 = subgroupBroadcast(AV, 2 + HALF); \
    vec4 s2 = subgroupBroadcast(AV, 4 + HALF), s3 = subgroupBroadcast(AV, 6 + HALF); \
    ACC_ROW(R, s0.x, s1.x, s2.x, s3.x) ACC_ROW(R + 1, s0.y, s1.y, s2.y, s3.y) \
    ACC_ROW(R + 2, s0.z, s1.z, s2.z, s3.z) ACC_ROW(R + 3, s0.w, s1.w, s2.w, s3.w) }

// The 16 rows of block H, k-major: lane l holds rows 16H + 8*(l&1) .. +7
// of column k + l/2.
#define COL_BLOCK(H) if (TILE_ROWS > 16 * H) { \
    uint r = row0 + 16 * H + 8 * (lane & 1u); \
    uint kk = k + (lane >> 1); \
    vec4 a0 = loadAcol(kk, r, 2 * H); \
    vec4 a1 = loadAcol(kk, r + 4, 2 * H + 1); \
    COL_GROUP(16 * H, a0, 0) COL_GROUP(16 * H + 4, a1, 0) \
    COL_GROUP(16 * H + 8, a0, 1) COL_GROUP(16 * H + 12, a1, 1) }

void main() {
    uint lane = gl_SubgroupInvocationID;
    uint row0 = gl_WorkGroupID.y * TILE_ROWS;
    uint col = gl_WorkGroupID.x * TILE_COLS + lane * (TILE_COLS / 8);

    // Sized for the tallest tile: with an array sized by TILE_ROWS, lavapipe
    // (Mesa 25.0) crashed at times loading the pipeline from its shader cache.
    vec4 acc[2 * 64];
    for (int i = 0; i < 2 * TILE_ROWS; i++) acc[i] = vec4(0.0);

    aBegin(row0, lane);
    for (uint k = K_BEGIN; k < K_END; k += 4) {
        if (k != K_BEGIN) aStep(k);
        vec4 bv[8];
        for (uint kk = 0; kk < 4; kk++) {
            bv[2 * kk] = loadB(k + kk, col);
            bv[2 * kk + 1] = WIDE ? loadB(k + kk, col + 4) : vec4(0.0);
        }
        if (!A_KMAJOR) {
            ROW_BLOCK(0) ROW_BLOCK(1) ROW_BLOCK(2) ROW_BLOCK(3)
            ROW_BLOCK(4) ROW_BLOCK(5) ROW_BLOCK(6) ROW_BLOCK(7)
        } else {
            COL_BLOCK(0) COL_BLOCK(1) COL_BLOCK(2) COL_BLOCK(3)
        }
    }

    // The host picks these kernels only for 8-lane subgroups; should a
    // driver run one otherwise, the result is NaN rather than silently wrong.
    float poison = gl_SubgroupSize == 8 ? 0.0 : uintBitsToFloat(0x7fc00000u);

    for (uint r = 0; r < TILE_ROWS; r++) {
        uint m = row0 + r;
        if (m >= M) break;
        for (uint h = 0; h < TILE_COLS / 32; h++) {
            uint n = col + 4 * h;
            if (n >= N) break;
            storeC(m, n, acc[2 * r + h] + poison);
        }
    }
}

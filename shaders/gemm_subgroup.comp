#version 450
// C = op(A) * op(B) (+ bias) (ReLU) for lavapipe and other CPUs: one
// 8-lane subgroup per workgroup and no shared memory. On lavapipe every
// buffer or shared-memory load is a loop over the lanes, so loads are few
// and wide: each lane loads vec4s of A and B, and the A values are
// passed between lanes with subgroupBroadcast. A workgroup computes a
// 16x64 tile of C; each lane owns 16 rows x 8 columns.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require

layout(local_size_x = 8) in;

layout(constant_id = 0) const bool TRANS_A = false; // A is stored K x M
layout(constant_id = 1) const bool TRANS_B = false; // B is stored N x K
layout(constant_id = 2) const bool BIAS = false;    // add bias[n]
layout(constant_id = 3) const bool RELU = false;    // max(0, x)

layout(push_constant) uniform Push { uint M, N, K; } p;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(binding = 2) writeonly buffer C { float c[]; };
layout(binding = 2) writeonly buffer C4 { vec4 c4[]; };
layout(binding = 3) readonly buffer Bias { float bias[]; };

float elemA(uint m, uint k) {
    if (m >= p.M || k >= p.K) return 0.0;
    return TRANS_A ? a[k * p.M + m] : a[m * p.K + k];
}

float elemB(uint k, uint n) {
    if (k >= p.K || n >= p.N) return 0.0;
    return TRANS_B ? b[n * p.K + k] : b[k * p.N + n];
}

// A[m][k..k+3]; the vec4 path needs row-major A with K a multiple of 4.
vec4 loadA(uint m, uint k, bool vec) {
    if (vec) return m < p.M ? a4[(m * p.K + k) >> 2] : vec4(0.0);
    return vec4(elemA(m, k), elemA(m, k + 1), elemA(m, k + 2), elemA(m, k + 3));
}

// B[k][n..n+3]; the vec4 path needs row-major B with N a multiple of 4.
vec4 loadB(uint k, uint n, bool vec) {
    if (vec) return (k < p.K && n < p.N) ? b4[(k * p.N + n) >> 2] : vec4(0.0);
    return vec4(elemB(k, n), elemB(k, n + 1), elemB(k, n + 2), elemB(k, n + 3));
}

// Row R of the tile from lane L's A registers AV, times the 4x8 block of B.
#define STEP(R, AV, L) { \
    vec4 s = subgroupBroadcast(AV, L); \
    acc[2 * R] += s.x * bv[0] + s.y * bv[2] + s.z * bv[4] + s.w * bv[6]; \
    acc[2 * R + 1] += s.x * bv[1] + s.y * bv[3] + s.z * bv[5] + s.w * bv[7]; }

void main() {
    uint lane = gl_SubgroupInvocationID;
    uint row0 = gl_WorkGroupID.y * 16;
    uint col = gl_WorkGroupID.x * 64 + lane * 8;
    bool vecA = !TRANS_A && (p.K & 3u) == 0;
    bool vecB = !TRANS_B && (p.N & 3u) == 0;

    vec4 acc[32];
    for (int i = 0; i < 32; i++) acc[i] = vec4(0.0);

    for (uint k = 0; k < p.K; k += 4) {
        vec4 a0 = loadA(row0 + lane, k, vecA);
        vec4 a1 = loadA(row0 + 8 + lane, k, vecA);
        vec4 bv[8];
        for (uint kk = 0; kk < 4; kk++) {
            bv[2 * kk] = loadB(k + kk, col, vecB);
            bv[2 * kk + 1] = loadB(k + kk, col + 4, vecB);
        }
        STEP(0, a0, 0) STEP(1, a0, 1) STEP(2, a0, 2) STEP(3, a0, 3)
        STEP(4, a0, 4) STEP(5, a0, 5) STEP(6, a0, 6) STEP(7, a0, 7)
        STEP(8, a1, 0) STEP(9, a1, 1) STEP(10, a1, 2) STEP(11, a1, 3)
        STEP(12, a1, 4) STEP(13, a1, 5) STEP(14, a1, 6) STEP(15, a1, 7)
    }

    // The host picks this kernel only for 8-lane subgroups; should a
    // driver run it otherwise, the result is NaN rather than silently wrong.
    float poison = gl_SubgroupSize == 8 ? 0.0 : uintBitsToFloat(0x7fc00000u);

    for (uint r = 0; r < 16; r++) {
        uint m = row0 + r;
        if (m >= p.M) break;
        for (uint h = 0; h < 2; h++) {
            uint n = col + 4 * h;
            if (n >= p.N) break;
            vec4 v = acc[2 * r + h] + poison;
            if (BIAS) {
                v += vec4(bias[n], n + 1 < p.N ? bias[n + 1] : 0.0,
                          n + 2 < p.N ? bias[n + 2] : 0.0, n + 3 < p.N ? bias[n + 3] : 0.0);
            }
            if (RELU) v = max(v, vec4(0.0));
            if ((p.N & 3u) == 0) {
                c4[(m * p.N + n) >> 2] = v;
            } else {
                for (uint i = 0; i < 4 && n + i < p.N; i++) c[m * p.N + n + i] = v[i];
            }
        }
    }
}

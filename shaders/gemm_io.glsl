// Operand B, output C and the epilogue of the GEMM-shaped kernels.
// A kernel that splits the sum over k across workgroups (gl_WorkGroupID.z)
// defines K_SPLIT, K_BEGIN, K_END and C_SLICE (where its partial C
// starts) before including this; by default one workgroup sums all of k.
#ifndef K_SPLIT
#define K_BEGIN 0u
#define K_END K
#define C_SLICE 0u
#endif
// Binding 0 is A (a, a4), 1 is B (b, b4), 2 is C (c, c4) and, where the
// including shader defines HAS_BIAS, 3 is the bias. It needs M, N, K and
// the constants TRANS_B (B stored N x K), BIAS and RELU.

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(binding = 2) writeonly buffer C { float c[]; };
layout(binding = 2) writeonly buffer C4 { vec4 c4[]; };
#ifdef HAS_BIAS
layout(binding = 3) readonly buffer Bias { float bias[]; };
layout(binding = 3) readonly buffer Bias4 { vec4 bias4[]; };
#endif

float elemB(uint k, uint n) {
    if (k >= K || n >= N) return 0.0;
    return TRANS_B ? b[n * K + k] : b[k * N + n];
}

// B[k][n..n+3], zero past K or N.
vec4 loadB(uint k, uint n) {
    if (!TRANS_B && (N & 3u) == 0) return (k < K && n < N) ? b4[(k * N + n) >> 2] : vec4(0.0);
    return vec4(elemB(k, n), elemB(k, n + 1), elemB(k, n + 2), elemB(k, n + 3));
}

float epilogue(uint n, float v) {
#ifdef HAS_BIAS
    if (BIAS) v += bias[n];
#endif
    return RELU ? max(v, 0.0) : v;
}

void storeC1(uint m, uint n, float v) {
    c[C_SLICE + m * N + n] = epilogue(n, v);
}

// C[m][n..n+3], only the columns below N.
void storeC(uint m, uint n, vec4 v) {
    if ((N & 3u) == 0) {
        c4[(C_SLICE + m * N + n) >> 2] = vec4(epilogue(n, v.x), epilogue(n + 1, v.y), epilogue(n + 2, v.z), epilogue(n + 3, v.w));
    } else {
        for (uint i = 0; i < 4 && n + i < N; i++) storeC1(m, n + i, v[i]);
    }
}

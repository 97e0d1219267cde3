// Operand A of the plain GEMM: row-major M x K, or K x M with TRANS_A.

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    return TRANS_A ? a[k * M + m] : a[m * K + k];
}

void aBegin(uint row0, uint lane) {}
void aStep(uint k) {}

vec4 loadArow(uint m, uint k, uint j) {
    if ((K & 3u) == 0) return m < M ? a4[(m * K + k) >> 2] : vec4(0.0);
    return vec4(elemA(m, k), elemA(m, k + 1), elemA(m, k + 2), elemA(m, k + 3));
}

vec4 loadAcol(uint k, uint m, uint j) {
    if ((M & 3u) == 0) return (k < K && m < M) ? a4[(k * M + m) >> 2] : vec4(0.0);
    return vec4(elemA(m, k), elemA(m + 1, k), elemA(m + 2, k), elemA(m + 3, k));
}

// Operand A of the warp-tiled GEMM: row-major M x K, or K x M with
// TRANS_A, fetched by vec4s along its contiguous index where that index's
// length is a multiple of 4, else element by element.

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    return TRANS_A ? a[k * M + m] : a[m * K + k];
}

uint aRow0;

void aBegin(uint row0) { aRow0 = row0; }

void aNext() {}

vec4 aFetch(uint s, uint k0) {
    if (!TRANS_A) {
        uint m = aRow0 + rowSlotRow(s), k = k0 + rowSlotK(s);
        if ((K & 3u) == 0) return (m < M && k < K) ? a4[(m * K + k) >> 2] : vec4(0.0);
        return vec4(elemA(m, k), elemA(m, k + 1), elemA(m, k + 2), elemA(m, k + 3));
    }
    uint k = k0 + colSlotK(s, BM), m = aRow0 + colSlotRow(s, BM);
    if ((M & 3u) == 0) return (k < K && m < M) ? a4[(k * M + m) >> 2] : vec4(0.0);
    return vec4(elemA(m, k), elemA(m + 1, k), elemA(m + 2, k), elemA(m + 3, k));
}

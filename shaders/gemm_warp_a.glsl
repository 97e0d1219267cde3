// Operand A of the warp-tiled GEMM: row-major M x K, or K x M with
// TRANS_A, fetched by vec4s along its contiguous index.

uint aRow0;

void aBegin(uint row0) { aRow0 = row0; }

void aNext() {}

vec4 aFetch(uint s, uint k0, out bool zero) {
    if (!TRANS_A) {
        uint m = aRow0 + rowSlotRow(s), k = k0 + rowSlotK(s);
        zero = m >= M || k >= K;
        return a4[zero ? 0 : (m * K + k) >> 2];
    }
    uint k = k0 + colSlotK(s, BM), m = aRow0 + colSlotRow(s, BM);
    zero = k >= K || m >= M;
    return a4[zero ? 0 : (k * M + m) >> 2];
}

// Operand B of the GEMM-shaped kernels that stage it by vec4 slots
// (stage_tile.glsl): row-major K x N, or N x K with B_NMAJOR.

// Slot s of the B tile at k0 (columns col0..): row-major B by vec4s of n,
// B stored N x K by vec4s of k; zero as aFetch's.
vec4 bFetch(uint s, uint k0, uint col0, out bool zero) {
    if (!B_NMAJOR) {
        uint k = k0 + colSlotK(s, BN), n = col0 + colSlotRow(s, BN);
        zero = k >= K || n >= N;
        return b4[zero ? 0 : (k * N + n) >> 2];
    }
    uint n = col0 + rowSlotRow(s), k = k0 + rowSlotK(s);
    zero = n >= N || k >= K;
    return b4[zero ? 0 : (n * K + k) >> 2];
}

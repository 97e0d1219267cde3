// The body of the cooperative-matrix GEMM kernels: C = A*B over the k range
// [K_BEGIN, K_END) of this workgroup layer, in the geometry of
// stage_tile.glsl. The operands are fetched by vec4 slots as in the warp
// body (the including shader's aFetch, gemm_b.glsl's bFetch), converted to
// the matrix element type when stored to shared memory, and multiplied
// fragment by fragment through the matrix operations: cooperative matrices
// (matrix_coop.glsl) on GPUs, plain GLSL (matrix_emu.glsl) anywhere. The
// accumulators are fp32; C leaves through a staging area a subgroup, with
// the bias and ReLU.
//
// The including shader declares what gemm_warp_body.glsl's does, after a
// header that picks the operations and element type (matrix_emu.glsl,
// matrix_bf16.glsl, matrix_f16.glsl).

// A fragment of A is TM x TK, of B TK x TN, of C TM x TN: a shape the
// device offers (vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR). Each
// warp tile is the work of one subgroup of LANES invocations (in the
// emulation, of LANES consecutive invocations).
layout(constant_id = 10) const uint TM = 16;
layout(constant_id = 11) const uint TN = 16;
layout(constant_id = 12) const uint TK = 16;
layout(constant_id = 13) const uint LANES = 32;
// bf16x3: each operand is staged as a high part, bf16(x), and a low part,
// bf16(x - hi), and each product sums lo*hi + hi*lo + hi*hi.
layout(constant_id = 14) const bool X3 = false;

const uint FM = WM / TM; // fragments down a warp tile
const uint FN = WN / TN; // and across it
const uint WARPS = (BM / WM) * (BN / WN);
// Fixed bounds of the fragment arrays and loops, as warp_tile.glsl's; the
// host keeps within them.
const uint MAX_FM = 4;
const uint MAX_FN = 4;
const uint MAX_KF = 4;

// The shared tiles hold two elements a uint. A is stored [m][k] (a
// row-major A) or [k][m] (a k-major one), B [k][n] or [n][k] (B stored
// N x K), so that a slot's four values are four neighbours; each line is
// padded by 8 elements against bank conflicts. With X3 the low parts
// follow the high ones.
const uint PAD = 8;
const uint A_LEAD = (A_KMAJOR ? BM : BK) + PAD;
const uint B_LEAD = (B_NMAJOR ? BK : BN) + PAD;
const uint A_PART = (A_KMAJOR ? BK : BM) * A_LEAD / 2;
const uint B_PART = (B_NMAJOR ? BN : BK) * B_LEAD / 2;
const uint PARTS = X3 ? 2 : 1;
shared uint As[A_PART * PARTS];
shared uint Bs[B_PART * PARTS];
// A fragment of C on its way out, a subgroup's own, row-major.
shared float Cs[WARPS * TM * TN];

#ifdef MATRIX_F16
// fp16 elements (devices without bf16 matrices; compiled to check the
// code, not run: fp16's range does not hold gradients unscaled).
uint packElems(float a, float b) { return packHalf2x16(vec2(a, b)); }
vec4 rounded(vec4 v) { return vec4(unpackHalf2x16(packHalf2x16(v.xy)), unpackHalf2x16(packHalf2x16(v.zw))); }
float unpackElem(uint w, uint odd) { return unpackHalf2x16(w)[odd]; }
#else
// bf16 elements: the high 16 bits of an fp32, rounded to nearest, ties to
// even (ref.BF16); the hardware path converts these exact values.
uint bf16Bits(float x) {
    uint u = floatBitsToUint(x);
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}
uint packElems(float a, float b) { return bf16Bits(a) | (bf16Bits(b) << 16); }
vec4 rounded(vec4 v) {
    return uintBitsToFloat(uvec4(bf16Bits(v.x), bf16Bits(v.y), bf16Bits(v.z), bf16Bits(v.w)) << 16);
}
float unpackElem(uint w, uint odd) { return uintBitsToFloat(odd == 0 ? w << 16 : w & 0xFFFF0000u); }
#endif

// The element offsets, in the shared tiles, of A[m][k] and B[k][n].
uint aAt(uint m, uint k) { return A_KMAJOR ? k * A_LEAD + m : m * A_LEAD + k; }
uint bAt(uint k, uint n) { return B_NMAJOR ? n * B_LEAD + k : k * B_LEAD + n; }

#ifdef MATRIX_EMU
#include "matrix_emu_ops.glsl"
#else
#include "matrix_coop_ops.glsl"
#endif

#include "gemm_b.glsl"

// Stores this K-step's slots, converted: four neighbouring elements from
// element at, and with X3 their low parts.
void storeTiles(vec4 ra[MAX_VECS], bool za[MAX_VECS], vec4 rb[MAX_VECS], bool zb[MAX_VECS]) {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s < A_VECS) {
            vec4 v = za[s] ? vec4(0.0) : ra[s], hi = rounded(v), lo = v - hi;
            uint at = (A_KMAJOR ? aAt(colSlotRow(s, BM), colSlotK(s, BM)) : aAt(rowSlotRow(s), rowSlotK(s))) / 2;
            As[at] = packElems(hi.x, hi.y);
            As[at + 1] = packElems(hi.z, hi.w);
            if (X3) {
                As[A_PART + at] = packElems(lo.x, lo.y);
                As[A_PART + at + 1] = packElems(lo.z, lo.w);
            }
        }
    }
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s < B_VECS) {
            vec4 v = zb[s] ? vec4(0.0) : rb[s], hi = rounded(v), lo = v - hi;
            uint at = (B_NMAJOR ? bAt(rowSlotK(s), rowSlotRow(s)) : bAt(colSlotK(s, BN), colSlotRow(s, BN))) / 2;
            Bs[at] = packElems(hi.x, hi.y);
            Bs[at + 1] = packElems(hi.z, hi.w);
            if (X3) {
                Bs[B_PART + at] = packElems(lo.x, lo.y);
                Bs[B_PART + at + 1] = packElems(lo.z, lo.w);
            }
        }
    }
}

#include "gemm_bias.glsl"

void main() {
    uint warp = matWarp(), lane = matLane();
    // The warp tile's first row and column within the workgroup's tile.
    uint wm0 = warp / (BN / WN) * WM, wn0 = warp % (BN / WN) * WN;
    uint row0 = gl_WorkGroupID.y * BM;
    uint col0 = gl_WorkGroupID.x * BN;

    Acc acc[MAX_FM * MAX_FN];
    [[unroll]] for (uint f = 0; f < MAX_FM * MAX_FN; f++) acc[f] = accZero();

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
        [[unroll]] for (uint kf = 0; kf < MAX_KF; kf++) {
            if (kf >= BK / TK) continue;
            uint k = kf * TK;
            FragB bh[MAX_FN], bl[MAX_FN];
            [[unroll]] for (uint j = 0; j < MAX_FN; j++) {
                if (j >= FN) continue;
                bh[j] = loadB(bAt(k, wn0 + j * TN));
                if (X3) bl[j] = loadB(2 * B_PART + bAt(k, wn0 + j * TN));
            }
            [[unroll]] for (uint i = 0; i < MAX_FM; i++) {
                if (i >= FM) continue;
                FragA ah = loadA(aAt(wm0 + i * TM, k)), al;
                if (X3) al = loadA(2 * A_PART + aAt(wm0 + i * TM, k));
                [[unroll]] for (uint j = 0; j < MAX_FN; j++) {
                    if (j >= FN) continue;
                    // The small terms first: each is within 2^-8 of its
                    // operands' product.
                    if (X3) {
                        acc[i * MAX_FN + j] = mulAdd(al, bh[j], acc[i * MAX_FN + j]);
                        acc[i * MAX_FN + j] = mulAdd(ah, bl[j], acc[i * MAX_FN + j]);
                    }
                    acc[i * MAX_FN + j] = mulAdd(ah, bh[j], acc[i * MAX_FN + j]);
                }
            }
        }
        barrier();
    }

    // The epilogue, a fragment at a time: the subgroup stores it to its
    // staging area, then each lane writes vec4s of it with the bias and
    // ReLU (N is a multiple of 4, so a vec4 is in C or past it).
    uint stage = warp * TM * TN;
    [[unroll]] for (uint i = 0; i < MAX_FM; i++) {
        [[unroll]] for (uint j = 0; j < MAX_FN; j++) {
            if (i >= FM || j >= FN) continue;
            accStore(acc[i * MAX_FN + j], stage);
            barrier();
            uint m0 = row0 + wm0 + i * TM, n0 = col0 + wn0 + j * TN;
            for (uint q = lane; q < TM * TN / 4; q += LANES) {
                uint r = q / (TN / 4), c = q % (TN / 4) * 4;
                if (m0 + r >= M || n0 + c >= N) continue;
                uint at = stage + r * TN + c;
                vec4 v = vec4(Cs[at], Cs[at + 1], Cs[at + 2], Cs[at + 3]);
                if (BIAS) v += biasAt(n0 + c);
                if (RELU) v = max(v, vec4(0.0));
                c4[(C_SLICE + (m0 + r) * N + n0 + c) >> 2] = v;
            }
            barrier();
        }
    }
}

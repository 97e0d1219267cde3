// The tile geometry of the GEMM kernels that stage their operands in
// shared memory by vec4 slots: the warp-tiled body (gemm_warp_body.glsl)
// and the cooperative-matrix one (matrix_body.glsl). It comes before the
// operands so that their loaders know which part of a tile each
// invocation fetches.
//
// A workgroup computes a BM x BN tile of C, BK values of k at a time. It is
// split into warp tiles of WM x WN, each the work of a group of
// invocations. Each K-step the workgroup fetches the A and B tiles as
// vec4s: A_VECS and B_VECS of them an invocation (slots), along the
// operand's contiguous index. Every length read or written by vec4s must
// be a multiple of 4 (Check): the kernels have no element-by-element
// paths. The specialization constants are laid out by the host
// (GemmVariant.specialize); ids 5-8 are the including shader's flags.

layout(constant_id = 0) const uint BM = 128;
layout(constant_id = 1) const uint BN = 128;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint WM = 64;
layout(constant_id = 4) const uint WN = 32;
// The workgroup's invocations: (BM/WM)*(BN/WN) warp tiles' worth; set by
// the host.
layout(constant_id = 9) const uint WG_SIZE = 256;
layout(local_size_x_id = 9) in;

const uint A_VECS = BM * BK / 4 / WG_SIZE;
const uint B_VECS = BN * BK / 4 / WG_SIZE;
// The slots' registers have a fixed size (see gemm_warp_body.glsl's
// MAX_BLOCKS for why); the host keeps within it.
const uint MAX_VECS = 4;

// Slot s of a row-major operand with R rows: row (within the tile) and
// first k of the vec4 it fetches; of a k-major one: k and first row.
uint rowSlotRow(uint s) { return (gl_LocalInvocationID.x + s * WG_SIZE) / (BK / 4); }
uint rowSlotK(uint s) { return (gl_LocalInvocationID.x + s * WG_SIZE) % (BK / 4) * 4; }
uint colSlotK(uint s, uint rows) { return (gl_LocalInvocationID.x + s * WG_SIZE) / (rows / 4); }
uint colSlotVec(uint s, uint rows) { return (gl_LocalInvocationID.x + s * WG_SIZE) % (rows / 4); }
uint colSlotRow(uint s, uint rows) { return colSlotVec(s, rows) * 4; }

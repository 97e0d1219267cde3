// The tile geometry of the warp-tiled GEMM kernels (gemm_warp_body.glsl),
// included before the operands so that their loaders know which part of a
// tile each invocation fetches.
//
// A workgroup computes a BM x BN tile of C, BK values of k at a time. It is
// split into warp tiles of WM x WN; a warp tile's WARP invocations each hold
// WMITER x WNITER blocks of 4 x 4 outputs, spread over it so that
// neighbouring invocations read neighbouring shared-memory vec4s. A "warp"
// is a group of invocations, not a hardware subgroup: nothing depends on
// the subgroup size, so lavapipe (8 lanes) runs the code NVIDIA (32) and
// AMD (64 or 32) do.
//
// Each K-step the workgroup fetches the A and B tiles as vec4s: A_VECS and
// B_VECS of them an invocation (slots), along the operand's contiguous
// index. Every length read or written by vec4s must be a multiple of 4
// (GemmVariant.Runs): the kernels have no element-by-element paths. The specialization constants are laid out by the host
// (GemmVariant.specialize); ids 5-8 are the including shader's flags.

layout(constant_id = 0) const uint BM = 128;
layout(constant_id = 1) const uint BN = 128;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const uint WM = 64;
layout(constant_id = 4) const uint WN = 32;
// Must equal (BM/WM)*(BN/WN)*WARP; set by the host.
layout(constant_id = 9) const uint WG_SIZE = 256;
layout(constant_id = 10) const uint WMITER = 2;
layout(constant_id = 11) const uint WNITER = 2;
layout(local_size_x_id = 9) in;
// The k of one pass of the unrolled inner loop: all of BK on GPUs, whose
// compilers then give every shared-memory read a static offset; 4 on
// lavapipe, whose LLVM takes seconds a pipeline to compile more.
layout(constant_id = 12) const uint KUNROLL = 4;

const uint WTM = WM / (4 * WMITER); // invocations down a warp tile
const uint WTN = WN / (4 * WNITER); // and across it
const uint WARP = WTM * WTN;
const uint A_VECS = BM * BK / 4 / WG_SIZE;
const uint B_VECS = BN * BK / 4 / WG_SIZE;
// Register arrays have fixed sizes, and every loop over them runs to a
// fixed bound with a test of the constant inside: NVIDIA's compiler left
// a loop bounded by a specialization constant of 1 rolled, which put the
// accumulators in local memory (warp tiles of one block down ran 16x
// slower on an H100). The host keeps within these bounds.
const uint MAX_VECS = 4;
const uint MAX_BLOCKS = 4;
const uint MAX_KUNROLL = 32;

// Slot s of a row-major operand with R rows: row (within the tile) and
// first k of the vec4 it fetches; of a k-major one: k and first row.
uint rowSlotRow(uint s) { return (gl_LocalInvocationID.x + s * WG_SIZE) / (BK / 4); }
uint rowSlotK(uint s) { return (gl_LocalInvocationID.x + s * WG_SIZE) % (BK / 4) * 4; }
uint colSlotK(uint s, uint rows) { return (gl_LocalInvocationID.x + s * WG_SIZE) / (rows / 4); }
uint colSlotVec(uint s, uint rows) { return (gl_LocalInvocationID.x + s * WG_SIZE) % (rows / 4); }
uint colSlotRow(uint s, uint rows) { return colSlotVec(s, rows) * 4; }

// The register geometry of the warp-tiled GEMM body (gemm_warp_body.glsl),
// within stage_tile.glsl's tiles: a warp tile's WARP invocations each hold
// WMITER x WNITER blocks of 4 x 4 outputs, spread over it so that
// neighbouring invocations read neighbouring shared-memory vec4s. A "warp"
// is a group of invocations, not a hardware subgroup: nothing depends on
// the subgroup size, so lavapipe (8 lanes) runs the code NVIDIA (32) and
// AMD (64 or 32) do.

layout(constant_id = 10) const uint WMITER = 2;
layout(constant_id = 11) const uint WNITER = 2;
// The k of one pass of the unrolled inner loop: all of BK on GPUs, whose
// compilers then give every shared-memory read a static offset; 4 on
// lavapipe, whose LLVM takes seconds a pipeline to compile more.
layout(constant_id = 12) const uint KUNROLL = 4;

const uint WTM = WM / (4 * WMITER); // invocations down a warp tile
const uint WTN = WN / (4 * WNITER); // and across it
const uint WARP = WTM * WTN;
// Register arrays have fixed sizes, and every loop over them runs to a
// fixed bound with a test of the constant inside: NVIDIA's compiler left
// a loop bounded by a specialization constant of 1 rolled, which put the
// accumulators in local memory (warp tiles of one block down ran 16x
// slower on an H100). The host keeps within these bounds.
const uint MAX_BLOCKS = 4;
const uint MAX_KUNROLL = 32;

// The body of a kernel that stages its operands by vec4 slots: the
// cooperative-matrix one where the including shader defines MATRIX, else
// the warp-tiled one.
#ifdef MATRIX
#include "matrix_body.glsl"
#else
#include "gemm_warp_body.glsl"
#endif

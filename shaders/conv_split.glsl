// The sum over k split across workgroup layers (gl_WorkGroupID.z), KSPLIT
// values each; each layer writes its partial C to its own slice.
#define K_SPLIT
#define K_BEGIN (gl_WorkGroupID.z * p.KSPLIT)
#define K_END min(K, K_BEGIN + p.KSPLIT)
#define C_SLICE (gl_WorkGroupID.z * M * N)

// The sum over k split across workgroup layers (gl_WorkGroupID.z), KSPLIT
// values each (a push constant of the including shader's block p); each
// layer writes its partial C to its own slice, and splitsum.comp adds them
// in order.
#define K_SPLIT
#define K_BEGIN (gl_WorkGroupID.z * p.KSPLIT)
#define K_END min(K, K_BEGIN + p.KSPLIT)
#define C_SLICE (gl_WorkGroupID.z * M * N)

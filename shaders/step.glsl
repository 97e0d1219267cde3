// The step buffer's header: what changes from one training step to the
// next, written by the host before each submission so that a recording
// made once serves every step. nn/kernels' Step* constants index its words
// (TestStepHeader checks that they agree). A shader defines STEP_BINDING,
// the binding it reads the header at, before it includes this file, and
// STEP_OPTIMIZER where it also reads the words after lr (the optimizers
// after Adam: the other shaders' SPIR-V stays as it was).
layout(binding = STEP_BINDING) readonly buffer Step {
    uint counter; // the step counter (Adam's t, the dropout counter)
    uint seed;    // the dropout seed
    uint valid;   // the number of real samples in the batch
    float lr;     // the update's rate: Adam's bias-corrected one, else the scheduled one
#ifdef STEP_OPTIMIZER
    float stepSize;  // AdamW's lr / (1 - beta1^t)
    float corr2Sqrt; // AdamW's sqrt(1 - beta2^t)
    float decay;     // AdamW's decoupled decay factor, 1 - lr wd
#endif
} stepValues;

// validRows is how many of the rows rows from row first are of the valid
// samples, all rows before valid (the valid samples' rows).
uint validRows(uint valid, uint first, uint rows) {
    return valid > first ? min(valid - first, rows) : 0u;
}

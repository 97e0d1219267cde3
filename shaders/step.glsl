// The step buffer's header: what changes from one training step to the
// next, written by the host before each submission so that a recording
// made once serves every step. nn/kernels' Step* constants index its words
// (TestStepHeader checks that they agree). A shader defines STEP_BINDING,
// the binding it reads the header at, before it includes this file.
layout(binding = STEP_BINDING) readonly buffer Step {
    uint counter; // the step counter (Adam's t, the dropout counter)
    uint seed;    // the dropout seed
    uint valid;   // the number of real samples in the batch
    float lr;     // Adam's bias-corrected learning rate
} stepValues;

// validRows is how many of the rows rows from row first are of the valid
// samples, all rows before valid (the valid samples' rows).
uint validRows(uint valid, uint first, uint rows) {
    return valid > first ? min(valid - first, rows) : 0u;
}

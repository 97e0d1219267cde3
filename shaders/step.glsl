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

// Picks the plain-GLSL matrix operations with bf16 elements for
// matrix_body.glsl (preprocessor lines only, before any declaration).
#define MATRIX
#define MATRIX_EMU

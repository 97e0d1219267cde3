// Picks the cooperative-matrix operations with fp16 elements for
// matrix_body.glsl (preprocessor lines only, before any declaration; the
// including shader enables GL_KHR_cooperative_matrix itself, which marks
// it for glslang): devices whose matrices take fp16 alone, compiled to
// check the code their compiler makes.
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define MATRIX
#define MATRIX_F16
#define MATRIX_ELEM float16_t

// Picks the cooperative-matrix operations with bf16 elements for
// matrix_body.glsl (preprocessor lines only, before any declaration; the
// including shader enables GL_KHR_cooperative_matrix itself, which marks
// it for glslang).
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_bfloat16 : require
#define MATRIX
#define MATRIX_ELEM bfloat16_t

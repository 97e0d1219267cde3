// The matrix operations of matrix_body.glsl on cooperative matrices
// (GL_KHR_cooperative_matrix): a fragment is a coopmat of the subgroup,
// loaded from the shared tiles (two elements a uint), and products are
// the device's matrix instructions. MATRIX_ELEM is the element type.

#define FragA coopmat<MATRIX_ELEM, gl_ScopeSubgroup, TM, TK, gl_MatrixUseA>
#define FragB coopmat<MATRIX_ELEM, gl_ScopeSubgroup, TK, TN, gl_MatrixUseB>
#define Acc coopmat<float, gl_ScopeSubgroup, TM, TN, gl_MatrixUseAccumulator>

uint matWarp() { return gl_SubgroupID; }
uint matLane() { return gl_SubgroupInvocationID; }

Acc accZero() { return Acc(0.0); }

// Loads fragment f of a shared tile from its element at, the tile's lines
// lead elements apart, column-major where columns says. The layout is a
// constant of each pipeline: a branch, not an operand.
#define LOAD_FRAGMENT(f, tile, at, lead, columns)                                              \
    if (columns) coopMatLoad(f, tile, (at) / 2, (lead) / 2, gl_CooperativeMatrixLayoutColumnMajor); \
    else coopMatLoad(f, tile, (at) / 2, (lead) / 2, gl_CooperativeMatrixLayoutRowMajor)

FragA loadA(uint at) {
    FragA f;
    LOAD_FRAGMENT(f, As, at, A_LEAD, A_KMAJOR);
    return f;
}

FragB loadB(uint at) {
    FragB f;
    LOAD_FRAGMENT(f, Bs, at, B_LEAD, B_NMAJOR);
    return f;
}

Acc mulAdd(FragA a, FragB b, Acc c) { return coopMatMulAdd(a, b, c); }

void accStore(Acc c, uint at) { coopMatStore(c, Cs, at, TN, gl_CooperativeMatrixLayoutRowMajor); }

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

// The layouts are constants of each pipeline: a branch, not an operand.
FragA loadA(uint at) {
    FragA f;
    if (A_KMAJOR) {
        coopMatLoad(f, As, at / 2, A_LEAD / 2, gl_CooperativeMatrixLayoutColumnMajor);
    } else {
        coopMatLoad(f, As, at / 2, A_LEAD / 2, gl_CooperativeMatrixLayoutRowMajor);
    }
    return f;
}

FragB loadB(uint at) {
    FragB f;
    if (B_NMAJOR) {
        coopMatLoad(f, Bs, at / 2, B_LEAD / 2, gl_CooperativeMatrixLayoutColumnMajor);
    } else {
        coopMatLoad(f, Bs, at / 2, B_LEAD / 2, gl_CooperativeMatrixLayoutRowMajor);
    }
    return f;
}

Acc mulAdd(FragA a, FragB b, Acc c) { return coopMatMulAdd(a, b, c); }

void accStore(Acc c, uint at) { coopMatStore(c, Cs, at, TN, gl_CooperativeMatrixLayoutRowMajor); }

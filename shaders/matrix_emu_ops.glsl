// The matrix operations of matrix_body.glsl in plain GLSL, for devices
// without cooperative matrices (lavapipe, every kernel test): the same
// staged elements, exact products (two bf16 significands fit an fp32's)
// summed in fp32, in k order within a fragment where the hardware's order
// is its own. A fragment of A or B is where it lies in the shared tiles;
// an accumulator is its lane's EMU_E neighbouring entries of a row of the
// TM x TN fragment, lane l holding entries l*EMU_E.. in row-major order.

const uint EMU_E = TM * TN / LANES;
const uint MAX_E = 8; // the host keeps EMU_E even, within this and dividing TN

struct Acc {
    float v[MAX_E];
};
#define FragA uint
#define FragB uint

uint matWarp() { return gl_LocalInvocationID.x / LANES; }
uint matLane() { return gl_LocalInvocationID.x % LANES; }

Acc accZero() {
    Acc c;
    [[unroll]] for (uint i = 0; i < MAX_E; i++) c.v[i] = 0.0;
    return c;
}

uint loadA(uint at) { return at; }
uint loadB(uint at) { return at; }

float tileA(uint at) { return unpackElem(As[at >> 1], at & 1u); }
float tileB(uint at) { return unpackElem(Bs[at >> 1], at & 1u); }

// Lavapipe's time goes to loads: a row-major B gives two neighbouring
// entries a load (EMU_E is even, and so is an entry's column). The k loop
// stays rolled: its LLVM took three times as long to compile the kernel
// tests' pipelines with it unrolled (150 s from a cold cache, against
// 50), which ran 2.5 times as fast.
Acc mulAdd(uint a, uint b, Acc c) {
    uint e = matLane() * EMU_E, row = e / TN, col = e % TN;
    [[dont_unroll]] for (uint k = 0; k < TK; k++) {
        float av = tileA(a + (A_KMAJOR ? k * A_LEAD + row : row * A_LEAD + k));
        uint at = b + (B_NMAJOR ? col * B_LEAD + k : k * B_LEAD + col);
        [[unroll]] for (uint i = 0; i < MAX_E; i += 2) {
            if (i >= EMU_E) continue;
            if (B_NMAJOR) {
                c.v[i] = fma(av, tileB(at + i * B_LEAD), c.v[i]);
                c.v[i + 1] = fma(av, tileB(at + (i + 1) * B_LEAD), c.v[i + 1]);
            } else {
                uint w = Bs[(at + i) >> 1];
                c.v[i] = fma(av, unpackElem(w, 0), c.v[i]);
                c.v[i + 1] = fma(av, unpackElem(w, 1), c.v[i + 1]);
            }
        }
    }
    return c;
}

// Stores the accumulator row-major at Cs[at..].
void accStore(Acc c, uint at) {
    uint e = matLane() * EMU_E;
    [[unroll]] for (uint i = 0; i < MAX_E; i++) {
        if (i < EMU_E) Cs[at + e + i] = c.v[i];
    }
}

// Operand A of the kernel gradient for the warp-tiled body, k-major:
// A[m][k] is the input value under tap m = (ky, kx, ci) of pixel k (zero
// off the image). The slots share their rows' tap, worked out once; each
// keeps its pixel, moved on by BK a step without division. CIN is a
// multiple of 4, so a vec4 is four channels of one tap.

// The tap of every slot's rows: colSlotVec is the same for every slot
// (WG_SIZE is a multiple of BM/4, GemmVariant.warpShape).
int tapKy, tapKx;
uint tapC, tapM; // its channel and first row
int slotRow[MAX_VECS], slotY[MAX_VECS], slotX[MAX_VECS]; // the pixel's image's first row, y, x

void aBegin(uint row0) {
    tapM = row0 + colSlotRow(0, BM);
    uint tap = tapM / p.CIN;
    tapC = tapM % p.CIN;
    tapKy = int(tap / p.KW);
    tapKx = int(tap % p.KW);
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        uint k = K_BEGIN + colSlotK(s, BM);
        uint x = k % p.W, t = k / p.W, y = t % p.H;
        slotRow[s] = int(t - y);
        slotY[s] = int(y);
        slotX[s] = int(x);
    }
}

void aNext() {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        slotX[s] += int(BK);
        while (slotX[s] >= int(p.W)) {
            slotX[s] -= int(p.W);
            if (++slotY[s] == int(p.H)) {
                slotY[s] = 0;
                slotRow[s] += int(p.H);
            }
        }
    }
}

vec4 aFetch(uint s, uint k0, out bool zero) {
    int y = slotY[s] + tapKy - int(p.KH / 2), x = slotX[s] + tapKx - int(p.KW / 2);
    zero = k0 + colSlotK(s, BM) >= K || tapM >= M || y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W);
    return a4[zero ? 0 : (uint((slotRow[s] + y) * int(p.W) + x) * p.CIN + tapC) >> 2];
}

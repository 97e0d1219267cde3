// Operand A of the forward convolution and of its input gradient, for the
// warp-tiled body: A[m][k] is the value under tap k = (ky, kx, c) of pixel
// m (zero off the image), where the tap lies DIR * (ky - KH/2, kx - KW/2)
// from the pixel and c runs over CH channels. DIR is 1 for the forward
// pass and -1 for the input gradient, whose kernel is flipped. Each slot
// keeps its row's pixel, and the slots their k's tap, worked out once and
// moved on by BK a step: no division in the loop. CH is a multiple of 4, so a vec4 is
// four channels of one tap.

int slotRow[MAX_VECS], slotY[MAX_VECS], slotX[MAX_VECS]; // image's first row, y, x
// The tap of every slot's k: rowSlotK is the same for every slot (WG_SIZE
// is a multiple of BK/4, GemmVariant.warpShape).
int tapKy, tapKx;
uint tapC;

void aBegin(uint row0) {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        uint m = row0 + rowSlotRow(s);
        uint x = m % p.W, t = m / p.W, y = t % p.H;
        slotRow[s] = int(t - y);
        slotY[s] = m < M ? int(y) : -100000; // every tap of a row past M is off the image
        slotX[s] = int(x);
    }
    uint k = K_BEGIN + rowSlotK(0);
    uint tap = k / CH;
    tapC = k % CH;
    tapKy = int(tap / p.KW);
    tapKx = int(tap % p.KW);
}

void aNext() {
    tapC += BK;
    while (tapC >= CH) {
        tapC -= CH;
        if (++tapKx == int(p.KW)) {
            tapKx = 0;
            tapKy++;
        }
    }
}

vec4 aFetch(uint s, uint k0, out bool zero) {
    int y = slotY[s] + DIR * (tapKy - int(p.KH / 2)), x = slotX[s] + DIR * (tapKx - int(p.KW / 2));
    zero = k0 + rowSlotK(s) >= K || y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W);
    return a4[zero ? 0 : (uint((slotRow[s] + y) * int(p.W) + x) * CH + tapC) >> 2];
}

// Operand A of the forward convolution and of its input gradient, for the
// warp-tiled body: A[m][k] is the value under tap k = (ky, kx, c) of pixel
// m (zero off the image), where the tap lies DIR * (ky - KH/2, kx - KW/2)
// from the pixel and c runs over CH channels. DIR is 1 for the forward
// pass and -1 for the input gradient, whose kernel is flipped. Each slot
// keeps its row's pixel and its k's tap, worked out once and moved on by
// BK a step: no division in the loop. CH is a multiple of 4, so a vec4 is
// four channels of one tap.

int slotRow[MAX_VECS], slotY[MAX_VECS], slotX[MAX_VECS]; // image's first row, y, x
int slotKy[MAX_VECS], slotKx[MAX_VECS];
uint slotC[MAX_VECS];

void aBegin(uint row0) {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        uint m = row0 + rowSlotRow(s);
        uint x = m % p.W, t = m / p.W, y = t % p.H;
        slotRow[s] = int(t - y);
        slotY[s] = m < M ? int(y) : -100000; // every tap of a row past M is off the image
        slotX[s] = int(x);
        uint k = K_BEGIN + rowSlotK(s);
        uint tap = k / CH;
        slotC[s] = k % CH;
        slotKy[s] = int(tap / p.KW);
        slotKx[s] = int(tap % p.KW);
    }
}

void aNext() {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        slotC[s] += BK;
        while (slotC[s] >= CH) {
            slotC[s] -= CH;
            if (++slotKx[s] == int(p.KW)) {
                slotKx[s] = 0;
                slotKy[s]++;
            }
        }
    }
}

vec4 aFetch(uint s, uint k0, out bool zero) {
    int y = slotY[s] + DIR * (slotKy[s] - int(p.KH / 2)), x = slotX[s] + DIR * (slotKx[s] - int(p.KW / 2));
    zero = k0 + rowSlotK(s) >= K || y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W);
    return a4[zero ? 0 : (uint((slotRow[s] + y) * int(p.W) + x) * CH + slotC[s]) >> 2];
}

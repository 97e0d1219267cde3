// Operand A of the kernel gradient for the warp-tiled body, k-major:
// A[m][k] is the input value under tap m = (ky, kx, ci) of pixel k (zero
// off the image). Each slot keeps its rows' tap, worked out once, and its
// pixel, moved on by BK a step without division. CIN is a multiple of 4,
// so a vec4 is four channels of one tap.

int slotKy[MAX_VECS], slotKx[MAX_VECS];
uint slotC[MAX_VECS];
uint slotM[MAX_VECS]; // the slot's first row
int slotRow[MAX_VECS], slotY[MAX_VECS], slotX[MAX_VECS]; // the pixel's image's first row, y, x

void aBegin(uint row0) {
    [[unroll]] for (uint s = 0; s < MAX_VECS; s++) {
        if (s >= A_VECS) break;
        uint m = row0 + colSlotRow(s, BM);
        uint tap = m / p.CIN;
        slotC[s] = m % p.CIN;
        slotKy[s] = int(tap / p.KW);
        slotKx[s] = int(tap % p.KW);
        slotM[s] = m;
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
    int y = slotY[s] + slotKy[s] - int(p.KH / 2), x = slotX[s] + slotKx[s] - int(p.KW / 2);
    zero = k0 + colSlotK(s, BM) >= K || slotM[s] >= M || y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W);
    return a4[zero ? 0 : (uint((slotRow[s] + y) * int(p.W) + x) * p.CIN + slotC[s]) >> 2];
}

// Operand A of the kernel gradient for the warp-tiled body, k-major:
// A[m][k] is the input value under tap m = (ky, kx, ci) of pixel k (zero
// off the image). Each slot keeps its rows' tap, worked out once, and its
// pixel, moved on by BK a step without division.

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

vec4 aFetch(uint s, uint k0) {
    uint k = k0 + colSlotK(s, BM);
    if (k >= K || slotM[s] >= M) return vec4(0.0);
    if ((p.CIN & 3u) == 0) { // four channels of one tap (and M % 4 == 0)
        int y = slotY[s] + slotKy[s] - int(p.KH / 2), x = slotX[s] + slotKx[s] - int(p.KW / 2);
        if (y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W)) return vec4(0.0);
        return a4[(uint((slotRow[s] + y) * int(p.W) + x) * p.CIN + slotC[s]) >> 2];
    }
    // Channels that cross taps (the first layer's one, say): row by row.
    vec4 v = vec4(0.0);
    int ky = slotKy[s], kx = slotKx[s];
    uint c = slotC[s];
    [[unroll]] for (uint i = 0; i < 4; i++) {
        int y = slotY[s] + ky - int(p.KH / 2), x = slotX[s] + kx - int(p.KW / 2);
        if (slotM[s] + i < M && y >= 0 && y < int(p.H) && x >= 0 && x < int(p.W)) v[i] = a[uint((slotRow[s] + y) * int(p.W) + x) * p.CIN + c];
        if (++c == p.CIN) {
            c = 0;
            if (++kx == int(p.KW)) {
                kx = 0;
                ky++;
            }
        }
    }
    return v;
}

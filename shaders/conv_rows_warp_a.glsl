// Operand A of the forward convolution and of its input gradient, for the
// warp-tiled body: A[m][k] is the value under tap k = (ky, kx, c) of pixel
// m (zero off the image), where the tap lies DIR * (ky - KH/2, kx - KW/2)
// from the pixel and c runs over CH channels. DIR is 1 for the forward
// pass and -1 for the input gradient, whose kernel is flipped. Each slot
// keeps its row's pixel and its k's tap, worked out once and moved on by
// BK a step: no division in the loop.

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

// Moves a tap on by one channel, wrapping to the next kernel column, row.
void nextChannel(inout int ky, inout int kx, inout uint c) {
    if (++c == CH) {
        c = 0;
        if (++kx == int(p.KW)) {
            kx = 0;
            ky++;
        }
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

// The value under tap (ky, kx, c) of slot s's pixel, zero off the image.
float tapValue(uint s, int ky, int kx, uint c) {
    int y = slotY[s] + DIR * (ky - int(p.KH / 2)), x = slotX[s] + DIR * (kx - int(p.KW / 2));
    if (y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W)) return 0.0;
    return a[uint((slotRow[s] + y) * int(p.W) + x) * CH + c];
}

vec4 aFetch(uint s, uint k0) {
    uint k = k0 + rowSlotK(s);
    if ((CH & 3u) == 0) { // four channels of one tap (and K % 4 == 0)
        int y = slotY[s] + DIR * (slotKy[s] - int(p.KH / 2)), x = slotX[s] + DIR * (slotKx[s] - int(p.KW / 2));
        if (k >= K || y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W)) return vec4(0.0);
        return a4[(uint((slotRow[s] + y) * int(p.W) + x) * CH + slotC[s]) >> 2];
    }
    // Channels that cross taps (the first layer's one, say).
    vec4 v = vec4(0.0);
    int ky = slotKy[s], kx = slotKx[s];
    uint c = slotC[s];
    [[unroll]] for (uint i = 0; i < 4; i++) {
        if (k + i < K) v[i] = tapValue(s, ky, kx, c);
        nextChannel(ky, kx, c);
    }
    return v;
}

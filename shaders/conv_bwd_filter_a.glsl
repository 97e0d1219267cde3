// Operand A of the kernel gradient, k-major: A[m][k] is the input value
// under tap m = (ky, kx, ci) of output pixel k (zero in the padding); B is
// the output gradient, pixels x COUT.

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    int px = tapPixel(k, m / p.CIN);
    return px < 0 ? 0.0 : a[uint(px) * p.CIN + m % p.CIN];
}

// The lane's taps, two for each 16 rows of the tallest tile (fixed), and
// its output pixel k0 + lane/2, advanced by 4 pixels a step without
// division.
int tapY[8], tapX[8];
uint tapC[8];
bool tapOK[8];
int pixImage, pixY, pixX;

void aBegin(uint row0, uint lane) {
    for (uint j = 0; j < 8; j++) {
        uint m = row0 + 16 * (j >> 1) + 8 * (lane & 1u) + 4 * (j & 1u);
        uint t = m / p.CIN;
        tapY[j] = int(t / p.KW) - int(p.KH / 2);
        tapX[j] = int(t % p.KW) - int(p.KW / 2);
        tapC[j] = m % p.CIN;
        tapOK[j] = m < M;
    }
    uint px = K_BEGIN + (lane >> 1);
    pixX = int(px % p.W);
    uint t = px / p.W;
    pixY = int(t % p.H);
    pixImage = int(t) - pixY;
}

void aStep(uint k) {
    pixX += 4;
    while (pixX >= int(p.W)) {
        pixX -= int(p.W);
        if (++pixY == int(p.H)) {
            pixY = 0;
            pixImage += int(p.H);
        }
    }
}

vec4 loadArow(uint m, uint k, uint j) { // unused: A is k-major
    return vec4(0.0);
}

vec4 loadAcol(uint k, uint m, uint j) {
    if ((p.CIN & 3u) == 0) { // four channels of one tap: one vec4 (and M % 4 == 0)
        int y = pixY + tapY[j], x = pixX + tapX[j];
        if (k >= K || !tapOK[j] || y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W)) return vec4(0.0);
        return a4[(uint((pixImage + y) * int(p.W) + x) * p.CIN + tapC[j]) >> 2];
    }
    // Channels that cross taps (the first layer's one, say): one row at a
    // time from the first row's tap, moved on without division.
    vec4 v = vec4(0.0);
    int ty = tapY[j], tx = tapX[j];
    uint tc = tapC[j];
    for (uint i = 0; i < 4; i++) {
        int y = pixY + ty, x = pixX + tx;
        if (k < K && m + i < M && y >= 0 && y < int(p.H) && x >= 0 && x < int(p.W)) {
            v[i] = a[uint((pixImage + y) * int(p.W) + x) * p.CIN + tc];
        }
        nextTap(ty, tx, tc);
    }
    return v;
}

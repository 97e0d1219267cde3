// Operand A of the forward convolution: A[m][k] is the input value under
// tap k = (ky, kx, ci) of output pixel m (zero in the padding).

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    int px = tapPixel(m, k / p.CIN);
    return px < 0 ? 0.0 : a[uint(px) * p.CIN + k % p.CIN];
}

// The tap of the current k, kept incrementally beside the lane's pixels
// (lanePixels): the vec4 path needs no division.
int tapY, tapX;
uint tapC;

void aBegin(uint row0, uint lane) {
    lanePixels(row0, lane);
    tapY = -int(p.KH / 2);
    tapX = -int(p.KW / 2);
    tapC = 0;
}

void aStep(uint k) {
    if ((p.CIN & 3u) == 0) {
        tapC += 3; // four channels of one tap: never past the last
    } else {
        for (uint i = 0; i < 3; i++) nextTap(tapY, tapX, tapC);
    }
    nextTap(tapY, tapX, tapC);
}

vec4 loadArow(uint m, uint k, uint j) {
    if ((p.CIN & 3u) == 0) { // four channels of one tap: one vec4 (and K % 4 == 0)
        int y = rowY[j] + tapY, x = rowX[j] + tapX;
        if (y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W)) return vec4(0.0);
        return a4[(uint((rowImage[j] + y) * int(p.W) + x) * p.CIN + tapC) >> 2];
    }
    // Channels that cross taps (the first layer's one, say): one k at a
    // time, the tap moved on without division.
    vec4 v = vec4(0.0);
    int ty = tapY, tx = tapX;
    uint tc = tapC;
    for (uint i = 0; i < 4; i++) {
        int y = rowY[j] + ty, x = rowX[j] + tx;
        if (k + i < K && y >= 0 && y < int(p.H) && x >= 0 && x < int(p.W)) {
            v[i] = a[uint((rowImage[j] + y) * int(p.W) + x) * p.CIN + tc];
        }
        nextTap(ty, tx, tc);
    }
    return v;
}

vec4 loadAcol(uint k, uint m, uint j) { // unused: A is row-major
    return vec4(0.0);
}

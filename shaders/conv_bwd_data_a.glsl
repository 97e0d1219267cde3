// Operand A of the convolution's input gradient: A[m][k] is the output
// gradient at the pixel that tap k = (ky, kx, co) of input pixel m feeds
// (zero off the image). B is the kernel transposed to [ky][kx][co][ci].

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    uint t = k / p.COUT;
    int px = offsetPixel(m, int(p.KH / 2) - int(t / p.KW), int(p.KW / 2) - int(t % p.KW));
    return px < 0 ? 0.0 : a[uint(px) * p.COUT + k % p.COUT];
}

// As in conv_fwd_a.glsl, with the tap's offset negated: the gradient
// flows back through it.
int tapY, tapX;
uint tapC;

void aBegin(uint row0, uint lane) {
    lanePixels(row0, lane);
    tapY = int(p.KH / 2);
    tapX = int(p.KW / 2);
    tapC = 0;
}

void aStep(uint k) {
    tapC += 4;
    if (tapC == p.COUT) {
        tapC = 0;
        if (--tapX < -int(p.KW / 2)) {
            tapX = int(p.KW / 2);
            tapY--;
        }
    }
}

vec4 loadArow(uint m, uint k, uint j) {
    if ((p.COUT & 3u) == 0) {
        int y = rowY[j] + tapY, x = rowX[j] + tapX;
        if (y < 0 || y >= int(p.H) || x < 0 || x >= int(p.W)) return vec4(0.0);
        return a4[(uint((rowImage[j] + y) * int(p.W) + x) * p.COUT + tapC) >> 2];
    }
    return vec4(elemA(m, k), elemA(m, k + 1), elemA(m, k + 2), elemA(m, k + 3));
}

vec4 loadAcol(uint k, uint m, uint j) { // unused: A is row-major
    return vec4(0.0);
}

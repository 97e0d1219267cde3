// Operand A of the convolution's input gradient: A[m][k] is the output
// gradient at the pixel that tap k = (ky, kx, co) of input pixel m feeds
// (zero off the image). B is the kernel transposed to [ky][kx][co][ci].

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    uint t = k / p.COUT;
    int px = offsetPixel(m, int(p.KH / 2) - int(t / p.KW), int(p.KW / 2) - int(t % p.KW));
    return px < 0 ? 0.0 : a[uint(px) * p.COUT + k % p.COUT];
}

// As in conv_fwd_a.glsl: the lane's two pixels and the current tap, with
// the tap's offset already negated (the gradient flows back through it).
int rowImage[2], rowY[2], rowX[2];
int tapY, tapX;
uint tapC;

void aBegin(uint row0, uint lane) {
    for (uint j = 0; j < 2; j++) {
        uint m = row0 + lane + 8 * j;
        uint x = m % p.W, t = m / p.W, y = t % p.H;
        rowImage[j] = int(t - y);
        rowY[j] = m < M ? int(y) : -100000;
        rowX[j] = int(x);
    }
    tapY = int(p.KH / 2);
    tapX = int(p.KW / 2);
    tapC = 0;
}

void aStep(uint k) {
    if (k == 0) return;
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

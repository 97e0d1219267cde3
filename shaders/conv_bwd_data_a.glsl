// Operand A of the convolution's input gradient: A[m][k] is the output
// gradient at the pixel that tap k = (ky, kx, co) of input pixel m feeds
// (zero off the image). B is the kernel transposed to [ky][kx][co][ci].

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    uint t = k / p.COUT;
    int px = offsetPixel(m, int(p.KH / 2) - int(t / p.KW), int(p.KW / 2) - int(t % p.KW));
    return px < 0 ? 0.0 : a[uint(px) * p.COUT + k % p.COUT];
}

vec4 loadArow(uint m, uint k) {
    if ((p.COUT & 3u) == 0) {
        if (m >= M) return vec4(0.0);
        uint t = k / p.COUT;
        int px = offsetPixel(m, int(p.KH / 2) - int(t / p.KW), int(p.KW / 2) - int(t % p.KW));
        return px < 0 ? vec4(0.0) : a4[(uint(px) * p.COUT + k % p.COUT) >> 2];
    }
    return vec4(elemA(m, k), elemA(m, k + 1), elemA(m, k + 2), elemA(m, k + 3));
}

vec4 loadAcol(uint k, uint m) { // unused: A is row-major
    return vec4(0.0);
}

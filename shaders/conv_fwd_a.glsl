// Operand A of the forward convolution: A[m][k] is the input value under
// tap k = (ky, kx, ci) of output pixel m (zero in the padding).

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    int px = tapPixel(m, k / p.CIN);
    return px < 0 ? 0.0 : a[uint(px) * p.CIN + k % p.CIN];
}

vec4 loadArow(uint m, uint k) {
    if ((p.CIN & 3u) == 0) { // four channels of one tap: one vec4 (and K % 4 == 0)
        if (m >= M) return vec4(0.0);
        int px = tapPixel(m, k / p.CIN);
        return px < 0 ? vec4(0.0) : a4[(uint(px) * p.CIN + k % p.CIN) >> 2];
    }
    return vec4(elemA(m, k), elemA(m, k + 1), elemA(m, k + 2), elemA(m, k + 3));
}

vec4 loadAcol(uint k, uint m) { // unused: A is row-major
    return vec4(0.0);
}

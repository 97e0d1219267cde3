// Operand A of the kernel gradient, k-major: A[m][k] is the input value
// under tap m = (ky, kx, ci) of output pixel k (zero in the padding); B is
// the output gradient, pixels x COUT.

float elemA(uint m, uint k) {
    if (m >= M || k >= K) return 0.0;
    int px = tapPixel(k, m / p.CIN);
    return px < 0 ? 0.0 : a[uint(px) * p.CIN + m % p.CIN];
}

vec4 loadArow(uint m, uint k) { // unused: A is k-major
    return vec4(0.0);
}

vec4 loadAcol(uint k, uint m) {
    if ((p.CIN & 3u) == 0) { // four channels of one tap: one vec4 (and M % 4 == 0)
        if (k >= K || m >= M) return vec4(0.0);
        int px = tapPixel(k, m / p.CIN);
        return px < 0 ? vec4(0.0) : a4[(uint(px) * p.CIN + m % p.CIN) >> 2];
    }
    return vec4(elemA(m, k), elemA(m + 1, k), elemA(m + 2, k), elemA(m + 3, k));
}

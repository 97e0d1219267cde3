// Geometry of the 2-D convolutions as implicit GEMMs: NHWC tensors, "same"
// padding, stride 1, odd KH x KW kernels stored HWIO. A pixel index runs
// over batch, rows and columns.

layout(push_constant) uniform Push {
    uint M, N, K;      // the GEMM this convolution is
    uint H, W;         // image size, input and output alike
    uint CIN, COUT;
    uint KH, KW;
} p;
#define M p.M
#define N p.N
#define K p.K

// Pixel (n, y + dy, x + dx) for pixel m = (n, y, x), or -1 off the image.
int offsetPixel(uint m, int dy, int dx) {
    uint x = m % p.W;
    uint t = m / p.W;
    uint y = t % p.H;
    int sy = int(y) + dy;
    int sx = int(x) + dx;
    if (sy < 0 || sy >= int(p.H) || sx < 0 || sx >= int(p.W)) return -1;
    return int((t - y + uint(sy)) * p.W + uint(sx));
}

// The input pixel that tap (ky, kx) of output pixel m reads.
int tapPixel(uint m, uint t) {
    return offsetPixel(m, int(t / p.KW) - int(p.KH / 2), int(t % p.KW) - int(p.KW / 2));
}

// Geometry of the 2-D convolutions as implicit GEMMs: NHWC tensors, "same"
// padding, stride 1, odd KH x KW kernels stored HWIO. A pixel index runs
// over batch, rows and columns.

layout(push_constant) uniform Push {
    uint M, N, K;      // the GEMM this convolution is
    uint H, W;         // image size, input and output alike
    uint CIN, COUT;
    uint KH, KW;
    uint KSPLIT;       // k per workgroup layer (gl_WorkGroupID.z) where split
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

// Moves a tap (ky, kx, ci), offsets from the kernel's centre, on by one in
// the HWIO order: the next input channel, else kernel column, else row.
void nextTap(inout int ty, inout int tx, inout uint tc) {
    if (++tc == p.CIN) {
        tc = 0;
        if (++tx > int(p.KW / 2)) {
            tx = -int(p.KW / 2);
            ty++;
        }
    }
}

// The lane's output rows of a row-major gathering A (row0 + 8*j + lane
// for the 8 blocks j of the tallest tile) as (first row of its image, y,
// x): computed once, so that the loads need no division. A row past M gets
// a y far off the image, which makes every tap of it read zero.
int rowImage[8], rowY[8], rowX[8];

void lanePixels(uint row0, uint lane) {
    for (uint j = 0; j < 8; j++) {
        uint m = row0 + lane + 8 * j;
        uint x = m % p.W, t = m / p.W, y = t % p.H;
        rowImage[j] = int(t - y);
        rowY[j] = m < M ? int(y) : -100000;
        rowX[j] = int(x);
    }
}

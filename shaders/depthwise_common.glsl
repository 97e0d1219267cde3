// Shared by the depthwise convolution kernels: NHWC images of H x W x C,
// KH x KW kernels in Keras' HWCM order (w[ky][kx][c][m]) moved SH and SW
// pixels a step, their taps DH and DW pixels apart, the input padded by PT rows above and PL columns left;
// output channel c*M + m is input channel c through its m-th kernel, as
// TensorFlow and ONNX's grouped Conv number them.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(push_constant) uniform Push {
    uint n;              // invocations (the kernel gradient: images)
    uint H, W, C, M;     // input image; depth multiplier
    uint OH, OW;         // output image
    uint KH, KW, SH, SW, PT, PL;
    uint flags;          // forward: 1 bias, 2 ReLU; kernel gradient: 1 adds to dw
    uint DH, DW;         // dilation
} p;

#version 450
// The warp-tiled instance of conv_fwd_kernel.glsl.
#extension GL_GOOGLE_include_directive : require
#include "conv_fwd_kernel.glsl"

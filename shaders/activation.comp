#version 450
// An element-wise activation f, chosen by the ACT constant: forward (MODE
// 0) y[i] = f(x[i]); backward (MODE 1) dx[i] = dy[i] f'(x[i]), with binding
// 0 the forward input x and binding 1 the gradient, updated in place. The
// ACT_* values are nn/kernels' Activation constants (TestActivationNames
// checks that they agree); alpha is leaky_relu's slope and elu's scale.
// Each formula keeps its relative accuracy where a plain one cancels
// (tanh, expm1 and log1p near 0) and gives no inf or NaN at large |x|.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

const uint ACT_RELU = 0;
const uint ACT_RELU6 = 1;
const uint ACT_LEAKY_RELU = 2;
const uint ACT_ELU = 3;
const uint ACT_SELU = 4;
const uint ACT_SIGMOID = 5;
const uint ACT_HARD_SIGMOID = 6;
const uint ACT_HARD_SIGMOID_KERAS3 = 7;
const uint ACT_TANH = 8;
const uint ACT_SOFTPLUS = 9;
const uint ACT_SOFTSIGN = 10;
const uint ACT_SWISH = 11;
const uint ACT_GELU = 12;
const uint ACT_GELU_TANH = 13;

layout(constant_id = 1) const uint ACT = 0;
layout(constant_id = 2) const uint MODE = 0;
layout(push_constant) uniform Push { uint n; float alpha; } p;
layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) buffer Y { float y[]; };

// SELU's constants (Klambauer et al. 2017), as Keras and PyTorch round them.
const float SELU_ALPHA = 1.6732632423543772;
const float SELU_SCALE = 1.0507009873554805;
// sqrt(2 / pi) and GELU's cubic coefficient, for its tanh approximation.
const float GELU_C = 0.7978845608028654;
const float GELU_K = 0.044715;

// expm1 is exp(v) - 1, by its series near 0.
float expm1(float v) {
    if (abs(v) < 0.125) {
        return v * (1.0 + v * (0.5 + v * (1.0 / 6.0 + v * (1.0 / 24.0 + v * (1.0 / 120.0 + v * (1.0 / 720.0))))));
    }
    return exp(v) - 1.0;
}

// tanhOf is tanh(v), by its series near 0, else from exp(-2|v|) <= 1.
float tanhOf(float v) {
    float a = abs(v);
    if (a < 0.125) {
        float s = v * v;
        return v * (1.0 + s * (-1.0 / 3.0 + s * (2.0 / 15.0 + s * (-17.0 / 315.0))));
    }
    float e = exp(-2.0 * a);
    return sign(v) * ((1.0 - e) / (1.0 + e));
}

// log1pOf is log(1 + u) for u >= 0, exact where 1 + u rounds (Goldberg's
// correction); precise keeps the compiler from folding w - 1 into u.
float log1pOf(float u) {
    precise float w = 1.0 + u;
    precise float d = w - 1.0;
    return d == 0.0 ? u : log(w) * (u / d);
}

// erfcOf is erfc(z) for z >= 0, to a relative 1.2e-7 (the Chebyshev fit
// of Press et al., Numerical Recipes, erfcc).
float erfcOf(float z) {
    float t = 1.0 / (1.0 + 0.5 * z);
    float poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-z * z + poly);
}

// sigmoidOf is sigmoid(v) and its derivative, from e = exp(-|v|) <= 1,
// without 1 - s's cancellation.
float sigmoidOf(float v, out float derivative) {
    float e = exp(-abs(v));
    float q = 1.0 / (1.0 + e);
    derivative = e * q * q;
    return v >= 0.0 ? q : e * q;
}

// geluU is the argument of GELU's tanh approximation, 0.5 (1 + tanh(u))
// = sigmoid(2u); dudx its derivative.
float geluU(float v, out float dudx) {
    dudx = GELU_C * (1.0 + 3.0 * GELU_K * v * v);
    return GELU_C * (v + GELU_K * v * v * v);
}

// phi is the standard normal distribution function at v.
float phi(float v) {
    float c = 0.5 * erfcOf(abs(v) * 0.7071067811865476);
    return v >= 0.0 ? 1.0 - c : c;
}

float forward(float v) {
    float a = p.alpha;
    if (ACT == ACT_RELU) return max(v, 0.0);
    if (ACT == ACT_RELU6) return clamp(v, 0.0, 6.0);
    if (ACT == ACT_LEAKY_RELU) return v > 0.0 ? v : a * v;
    if (ACT == ACT_ELU) return v > 0.0 ? v : a * expm1(v);
    if (ACT == ACT_SELU) return SELU_SCALE * (v > 0.0 ? v : SELU_ALPHA * expm1(v));
    if (ACT == ACT_HARD_SIGMOID) return clamp(0.2 * v + 0.5, 0.0, 1.0);
    if (ACT == ACT_HARD_SIGMOID_KERAS3) return clamp(v + 3.0, 0.0, 6.0) / 6.0;
    if (ACT == ACT_TANH) return tanhOf(v);
    if (ACT == ACT_SOFTSIGN) return v / (1.0 + abs(v));
    if (ACT == ACT_GELU) return v * phi(v);
    float ds, dudx;
    if (ACT == ACT_GELU_TANH) return v * sigmoidOf(2.0 * geluU(v, dudx), ds);
    float s = sigmoidOf(v, ds);
    if (ACT == ACT_SIGMOID) return s;
    if (ACT == ACT_SOFTPLUS) return max(v, 0.0) + log1pOf(exp(-abs(v)));
    return v * s; // ACT_SWISH
}

// derivative is f'(v).
float derivative(float v) {
    float a = p.alpha;
    if (ACT == ACT_RELU) return v > 0.0 ? 1.0 : 0.0;
    if (ACT == ACT_RELU6) return v > 0.0 && v < 6.0 ? 1.0 : 0.0;
    if (ACT == ACT_LEAKY_RELU) return v > 0.0 ? 1.0 : a;
    if (ACT == ACT_ELU) return v > 0.0 ? 1.0 : a * exp(v);
    if (ACT == ACT_SELU) return SELU_SCALE * (v > 0.0 ? 1.0 : SELU_ALPHA * exp(v));
    if (ACT == ACT_HARD_SIGMOID) return v > -2.5 && v < 2.5 ? 0.2 : 0.0;
    if (ACT == ACT_HARD_SIGMOID_KERAS3) return v > -3.0 && v < 3.0 ? 1.0 / 6.0 : 0.0;
    float ds, dudx;
    if (ACT == ACT_TANH) {
        // 1 - tanh(v)^2 = 4 sigmoid'(2v), without the cancellation.
        sigmoidOf(2.0 * v, ds);
        return 4.0 * ds;
    }
    if (ACT == ACT_SOFTSIGN) {
        float d = 1.0 + abs(v);
        return 1.0 / (d * d);
    }
    if (ACT == ACT_GELU) return phi(v) + v * 0.3989422804014327 * exp(-0.5 * v * v);
    if (ACT == ACT_GELU_TANH) {
        float s2 = sigmoidOf(2.0 * geluU(v, dudx), ds);
        return s2 + 2.0 * v * ds * dudx;
    }
    float s = sigmoidOf(v, ds);
    if (ACT == ACT_SIGMOID) return ds;
    if (ACT == ACT_SOFTPLUS) return s;
    return s + v * ds; // ACT_SWISH
}

void main() {
    uint i = flatIndex();
    if (i >= p.n) return;
    if (MODE == 0) {
        y[i] = forward(x[i]);
    } else {
        // A zero derivative cuts the gradient to 0, as ReLU's backward
        // does, even where it is not finite. The gradient is loaded
        // whatever the derivative: a load under a condition that differs
        // between lanes costs lavapipe a loop over them.
        float d = derivative(x[i]);
        float g = y[i];
        y[i] = d == 0.0 ? 0.0 : g * d;
    }
}

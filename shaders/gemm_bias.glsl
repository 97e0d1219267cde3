// The bias of columns n..n+3, zero past N (or without one).
vec4 biasAt(uint n) {
#ifdef HAS_BIAS
    if (BIAS) return n < N ? bias4[n >> 2] : vec4(0.0);
#endif
    return vec4(0.0);
}

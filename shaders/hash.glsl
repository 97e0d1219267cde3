// A 32-bit integer hash (Chris Wellons' "lowbias32"): counter-based random
// numbers that the host can reproduce.
uint hash(uint x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

// The top 24 bits as a float in [0, 1).
float uniform01(uint h) {
    return float(h >> 8) * (1.0 / 16777216.0);
}

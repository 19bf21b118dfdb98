// vitflow integer helpers shared by the custom hls4ml kernels: raw codes of ap_(u)fixed values, shifts with
// round-half-to-even or floor, saturation. Same arithmetic as quant/golden_kernels.py.
#ifndef VITFLOW_COMMON_H_
#define VITFLOW_COMMON_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace vitflow {

typedef long long i64;

// The integer a fixed-point value stands for on its own grid (value * 2^frac); Signed from the model file.
template <bool Signed, class T> inline i64 code(const T &x) {
    if (Signed) {
        ap_int<T::width> r = x.range(T::width - 1, 0);
        return r;
    }
    ap_uint<T::width> r = x.range(T::width - 1, 0);
    return r;
}

// Store an integer (already inside the type's range) as the raw code of a fixed-point value.
template <class T> inline void set_code(T &x, i64 v) { x.range(T::width - 1, 0) = ap_uint<T::width>(v); }

inline i64 floor_shift(i64 x, int s) { return s <= 0 ? x * (1LL << -s) : (x >> s); }  // >> floors

// x * 2^-s rounded half to even (s > 0) or shifted left exactly (s <= 0).
inline i64 round_shift(i64 x, int s) {
    if (s <= 0) return x * (1LL << -s);
    i64 q = x >> s, r = x - (q << s), half = 1LL << (s - 1);
    return q + ((r > half || (r == half && (q & 1))) ? 1 : 0);
}

inline i64 saturate(i64 x, i64 lo, i64 hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Row permutations of a [ROWS, D] matrix, the data movement of window_partition/reverse and unfold/fold:
// gather: res row r = data row Map::source(r); scatter: res row Map::source(r) = data row r.
template <class input_t, class result_t, unsigned ROWS, unsigned D, class Map>
void gather_rows(input_t data[ROWS * D], result_t res[ROWS * D]) {
    for (unsigned r = 0; r < ROWS; r++)
        for (unsigned d = 0; d < D; d++) res[r * D + d] = data[Map::source(r) * D + d];
}

template <class input_t, class result_t, unsigned ROWS, unsigned D, class Map>
void scatter_rows(input_t data[ROWS * D], result_t res[ROWS * D]) {
    for (unsigned r = 0; r < ROWS; r++)
        for (unsigned d = 0; d < D; d++) res[Map::source(r) * D + d] = data[r * D + d];
}

} // namespace vitflow

#endif

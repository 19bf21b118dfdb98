// residual_add kernel: a + b on the finer of the two grids, requantized (golden_kernels.residual_add).
#ifndef VITFLOW_RESIDUAL_ADD_H_
#define VITFLOW_RESIDUAL_ADD_H_

#include "vitflow_common.h"

namespace vitflow {

struct residual_add_config {
    static const unsigned n_in = 1;
    static const int a_frac = 0, b_frac = 0, out_frac = 0;
    static const i64 out_min = -128, out_max = 127;
    static const unsigned reuse_factor = 1;
};

template <class a_t, class b_t, class result_t, typename CONFIG_T>
void residual_add(a_t a[CONFIG_T::n_in], b_t b[CONFIG_T::n_in], result_t res[CONFIG_T::n_in]) {
    const int f = CONFIG_T::a_frac > CONFIG_T::b_frac ? CONFIG_T::a_frac : CONFIG_T::b_frac;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        i64 s = code<true>(a[i]) * (1LL << (f - CONFIG_T::a_frac)) + code<true>(b[i]) * (1LL << (f - CONFIG_T::b_frac));
        set_code(res[i], saturate(round_shift(s, f - CONFIG_T::out_frac), CONFIG_T::out_min, CONFIG_T::out_max));
    }
}

// The same with a constant second operand (the position embedding), stored as a weight table.
template <class a_t, class result_t, typename CONFIG_T>
void residual_add_const(a_t a[CONFIG_T::n_in], result_t res[CONFIG_T::n_in], const typename CONFIG_T::const_t b[CONFIG_T::n_in]) {
    const int f = CONFIG_T::a_frac > CONFIG_T::b_frac ? CONFIG_T::a_frac : CONFIG_T::b_frac;
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        i64 s = code<true>(a[i]) * (1LL << (f - CONFIG_T::a_frac)) + (i64)b[i] * (1LL << (f - CONFIG_T::b_frac));
        set_code(res[i], saturate(round_shift(s, f - CONFIG_T::out_frac), CONFIG_T::out_min, CONFIG_T::out_max));
    }
}

} // namespace vitflow

#endif

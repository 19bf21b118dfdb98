// layernorm kernel: integer LayerNorm without affine over each token (golden_kernels.layernorm).
#ifndef VITFLOW_LAYERNORM_H_
#define VITFLOW_LAYERNORM_H_

#include "vitflow_common.h"

namespace vitflow {

struct layernorm_config {
    static const unsigned n_tokens = 1;
    static const unsigned dim = 2;
    static const bool in_signed = true;
    static const int out_frac = 0;  // spec.layernorm_out_frac(dim)
    static const long long out_min = 0, out_max = 0;
    static const unsigned reuse_factor = 1;
};

inline i64 isqrt(i64 n) {  // floor(sqrt(n)), bit by bit
    i64 r = 0;
    for (int b = 31; b >= 0; b--) {
        i64 t = r + (1LL << b);
        if (t * t <= n) r = t;
    }
    return r;
}

inline i64 floor_div(i64 a, i64 b) {  // b > 0
    i64 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

template <class input_t, class result_t, typename CONFIG_T>
void layernorm(input_t data[CONFIG_T::n_tokens * CONFIG_T::dim], result_t res[CONFIG_T::n_tokens * CONFIG_T::dim]) {
    const i64 D = CONFIG_T::dim;
TokenLoop:
    for (unsigned t = 0; t < CONFIG_T::n_tokens; t++) {
        i64 sum = 0;
        for (unsigned i = 0; i < CONFIG_T::dim; i++) sum += code<CONFIG_T::in_signed>(data[t * D + i]);
        i64 ss = 0;
        for (unsigned i = 0; i < CONFIG_T::dim; i++) {
            i64 d = D * code<CONFIG_T::in_signed>(data[t * D + i]) - sum;
            ss += d * d;
        }
        i64 r = isqrt(D * ss);
        if (r < 1) r = 1;
        for (unsigned i = 0; i < CONFIG_T::dim; i++) {
            i64 d = D * code<CONFIG_T::in_signed>(data[t * D + i]) - sum;
            set_code(res[t * D + i], saturate(floor_div(d * (D << CONFIG_T::out_frac), r), CONFIG_T::out_min, CONFIG_T::out_max));
        }
    }
}

} // namespace vitflow

#endif

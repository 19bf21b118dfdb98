// pool kernel: mean over tokens (a power-of-two count) of [n_tokens, dim], requantized (golden_kernels.pool).
#ifndef VITFLOW_POOL_H_
#define VITFLOW_POOL_H_

#include "vitflow_common.h"

namespace vitflow {

struct pool_config {
    static const unsigned n_tokens = 1, dim = 1;
    static const bool in_signed = true;
    static const int in_frac = 0, log2_count = 0, out_frac = 0;
    static const i64 out_min = -128, out_max = 127;
    static const unsigned reuse_factor = 1;
};

template <class input_t, class result_t, typename CONFIG_T>
void pool(input_t data[CONFIG_T::n_tokens * CONFIG_T::dim], result_t res[CONFIG_T::dim]) {
    for (unsigned i = 0; i < CONFIG_T::dim; i++) {
        i64 s = 0;
        for (unsigned t = 0; t < CONFIG_T::n_tokens; t++) s += code<CONFIG_T::in_signed>(data[t * CONFIG_T::dim + i]);
        int shift = CONFIG_T::in_frac + CONFIG_T::log2_count - CONFIG_T::out_frac;
        set_code(res[i], saturate(round_shift(s, shift), CONFIG_T::out_min, CONFIG_T::out_max));
    }
}

} // namespace vitflow

#endif

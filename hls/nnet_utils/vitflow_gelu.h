// gelu kernel: table lookup over the int8 input, same format out (golden_kernels.gelu, spec.gelu_lut).
#ifndef VITFLOW_GELU_H_
#define VITFLOW_GELU_H_

#include "vitflow_common.h"

namespace vitflow {

struct gelu_config {
    static const unsigned n_in = 1;
    static const unsigned table_size = 1;
    static const int in_min = 0;  // table[i] is GELU of input code in_min + i
    static const unsigned reuse_factor = 1;
    typedef ap_int<8> table_t;
};

template <class input_t, class result_t, typename CONFIG_T>
void gelu(input_t data[CONFIG_T::n_in], result_t res[CONFIG_T::n_in],
          const typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        set_code(res[i], (i64)table[code<true>(data[i]) - CONFIG_T::in_min]);
    }
}

} // namespace vitflow

#endif

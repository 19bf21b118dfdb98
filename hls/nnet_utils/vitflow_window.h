// window_partition / window_reverse kernels (Swin): roll the token grid by -shift and cut it into windows,
// and the inverse (golden_kernels.window_partition / window_reverse). Pure data movement, formats unchanged.
#ifndef VITFLOW_WINDOW_H_
#define VITFLOW_WINDOW_H_

#include "vitflow_common.h"

namespace vitflow {

struct window_partition_config {
    static const unsigned dim = 1, grid = 1, window = 1, shift = 0;
    static const unsigned reuse_factor = 1;
};
typedef window_partition_config window_reverse_config;

// Token index in the grid of element (window wi, position pi) after the roll by -shift.
template <typename CONFIG_T> inline unsigned window_source(unsigned wi, unsigned pi) {
    const unsigned g = CONFIG_T::grid / CONFIG_T::window;
    unsigned r = ((wi / g) * CONFIG_T::window + pi / CONFIG_T::window + CONFIG_T::shift) % CONFIG_T::grid;
    unsigned c = ((wi % g) * CONFIG_T::window + pi % CONFIG_T::window + CONFIG_T::shift) % CONFIG_T::grid;
    return r * CONFIG_T::grid + c;
}

template <class input_t, class result_t, typename CONFIG_T>
void window_partition(input_t data[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim],
                      result_t res[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim]) {
    const unsigned n = CONFIG_T::window * CONFIG_T::window, nw = CONFIG_T::grid * CONFIG_T::grid / n;
    for (unsigned wi = 0; wi < nw; wi++)
        for (unsigned pi = 0; pi < n; pi++)
            for (unsigned d = 0; d < CONFIG_T::dim; d++)
                res[(wi * n + pi) * CONFIG_T::dim + d] = data[window_source<CONFIG_T>(wi, pi) * CONFIG_T::dim + d];
}

template <class input_t, class result_t, typename CONFIG_T>
void window_reverse(input_t data[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim],
                    result_t res[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim]) {
    const unsigned n = CONFIG_T::window * CONFIG_T::window, nw = CONFIG_T::grid * CONFIG_T::grid / n;
    for (unsigned wi = 0; wi < nw; wi++)
        for (unsigned pi = 0; pi < n; pi++)
            for (unsigned d = 0; d < CONFIG_T::dim; d++)
                res[window_source<CONFIG_T>(wi, pi) * CONFIG_T::dim + d] = data[(wi * n + pi) * CONFIG_T::dim + d];
}

} // namespace vitflow

#endif

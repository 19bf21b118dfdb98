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

// Grid token of window row r (window r / n, position r % n), after the roll by -shift.
template <typename CONFIG_T> struct window_map {
    static unsigned source(unsigned r) {
        const unsigned n = CONFIG_T::window * CONFIG_T::window, g = CONFIG_T::grid / CONFIG_T::window;
        const unsigned wi = r / n, pi = r % n;
        unsigned y = ((wi / g) * CONFIG_T::window + pi / CONFIG_T::window + CONFIG_T::shift) % CONFIG_T::grid;
        unsigned x = ((wi % g) * CONFIG_T::window + pi % CONFIG_T::window + CONFIG_T::shift) % CONFIG_T::grid;
        return y * CONFIG_T::grid + x;
    }
};

template <class input_t, class result_t, typename CONFIG_T>
void window_partition(input_t data[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim],
                      result_t res[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim]) {
    gather_rows<input_t, result_t, CONFIG_T::grid * CONFIG_T::grid, CONFIG_T::dim, window_map<CONFIG_T> >(data, res);
}

template <class input_t, class result_t, typename CONFIG_T>
void window_reverse(input_t data[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim],
                    result_t res[CONFIG_T::grid * CONFIG_T::grid * CONFIG_T::dim]) {
    scatter_rows<input_t, result_t, CONFIG_T::grid * CONFIG_T::grid, CONFIG_T::dim, window_map<CONFIG_T> >(data, res);
}

} // namespace vitflow

#endif

// unfold / fold kernels (MobileViT): a channels-last feature map [H, W, C] <-> tokens [p*p, N, C], where
// sequence (py, px) holds pixel (py, px) of every p x p patch (golden_kernels.unfold / fold). Data movement.
#ifndef VITFLOW_UNFOLD_H_
#define VITFLOW_UNFOLD_H_

#include "vitflow_common.h"

namespace vitflow {

struct unfold_config {
    static const unsigned height = 1, width = 1, channels = 1, patch = 1;
    static const unsigned reuse_factor = 1;
};
typedef unfold_config fold_config;

// Map index (channels-last) of token element (sequence s, patch n, channel c).
template <typename CONFIG_T> inline unsigned unfold_source(unsigned s, unsigned n, unsigned c) {
    const unsigned p = CONFIG_T::patch, gw = CONFIG_T::width / p;
    unsigned y = (n / gw) * p + s / p, x = (n % gw) * p + s % p;
    return (y * CONFIG_T::width + x) * CONFIG_T::channels + c;
}

template <class input_t, class result_t, typename CONFIG_T>
void unfold(input_t data[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels],
            result_t res[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels]) {
    const unsigned P = CONFIG_T::patch * CONFIG_T::patch, N = CONFIG_T::height * CONFIG_T::width / P;
    for (unsigned s = 0; s < P; s++)
        for (unsigned n = 0; n < N; n++)
            for (unsigned c = 0; c < CONFIG_T::channels; c++)
                res[(s * N + n) * CONFIG_T::channels + c] = data[unfold_source<CONFIG_T>(s, n, c)];
}

template <class input_t, class result_t, typename CONFIG_T>
void fold(input_t data[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels],
          result_t res[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels]) {
    const unsigned P = CONFIG_T::patch * CONFIG_T::patch, N = CONFIG_T::height * CONFIG_T::width / P;
    for (unsigned s = 0; s < P; s++)
        for (unsigned n = 0; n < N; n++)
            for (unsigned c = 0; c < CONFIG_T::channels; c++)
                res[unfold_source<CONFIG_T>(s, n, c)] = data[(s * N + n) * CONFIG_T::channels + c];
}

} // namespace vitflow

#endif

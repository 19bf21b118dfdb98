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

// Map pixel (channels-last row) of token row r (sequence r / N, patch r % N).
template <typename CONFIG_T> struct unfold_map {
    static unsigned source(unsigned r) {
        const unsigned p = CONFIG_T::patch, gw = CONFIG_T::width / p;
        const unsigned n_patches = CONFIG_T::height * CONFIG_T::width / (p * p), s = r / n_patches, n = r % n_patches;
        return ((n / gw) * p + s / p) * CONFIG_T::width + (n % gw) * p + s % p;
    }
};

template <class input_t, class result_t, typename CONFIG_T>
void unfold(input_t data[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels],
            result_t res[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels]) {
    gather_rows<input_t, result_t, CONFIG_T::height * CONFIG_T::width, CONFIG_T::channels, unfold_map<CONFIG_T> >(data, res);
}

template <class input_t, class result_t, typename CONFIG_T>
void fold(input_t data[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels],
          result_t res[CONFIG_T::height * CONFIG_T::width * CONFIG_T::channels]) {
    scatter_rows<input_t, result_t, CONFIG_T::height * CONFIG_T::width, CONFIG_T::channels, unfold_map<CONFIG_T> >(data, res);
}

} // namespace vitflow

#endif

// attention kernel: per window and head, scores = q k^T (+ bias), base-2 integer softmax (masked), context
// = p v, requantized (golden_kernels.attention / softmax). q, k, v, res: [n_windows * n_tokens, dim].
#ifndef VITFLOW_ATTENTION_H_
#define VITFLOW_ATTENTION_H_

#include "vitflow_common.h"

namespace vitflow {

struct attention_config {
    static const unsigned n_windows = 1, n_tokens = 1, dim = 1, heads = 1;
    static const int q_frac = 0, k_frac = 0, v_frac = 0, score_shift = 0, bias_frac = 0, out_frac = 0;
    static const bool has_bias = false, has_mask = false;
    static const unsigned mask_windows = 1;  // mask is [mask_windows, n_tokens, n_tokens]; window w uses w % it
    static const long long out_min = 0, out_max = 0;
    // base-2 softmax constants: quant/spec.py, filled in by the generated config
    static const int exp_in_frac = 0, exp_lut_frac = 0, recip_bits = 0, prob_frac = 0, prob_max = 0, min_shift = 0;
    static const unsigned reuse_factor = 1;
    typedef ap_int<32> exp_lut_t;
    typedef ap_int<8> bias_t;
    typedef ap_int<8> mask_t;
};

template <class q_t, class k_t, class v_t, class result_t, typename CONFIG_T>
void attention(q_t q[CONFIG_T::n_windows * CONFIG_T::n_tokens * CONFIG_T::dim],
               k_t k[CONFIG_T::n_windows * CONFIG_T::n_tokens * CONFIG_T::dim],
               v_t v[CONFIG_T::n_windows * CONFIG_T::n_tokens * CONFIG_T::dim],
               result_t res[CONFIG_T::n_windows * CONFIG_T::n_tokens * CONFIG_T::dim],
               const typename CONFIG_T::exp_lut_t exp_lut[1 << CONFIG_T::exp_in_frac],
               const typename CONFIG_T::bias_t bias[CONFIG_T::heads * CONFIG_T::n_tokens * CONFIG_T::n_tokens],
               const typename CONFIG_T::mask_t mask[CONFIG_T::mask_windows * CONFIG_T::n_tokens * CONFIG_T::n_tokens]) {
    const unsigned N = CONFIG_T::n_tokens, D = CONFIG_T::dim, HD = CONFIG_T::dim / CONFIG_T::heads;
    int s_frac = CONFIG_T::q_frac + CONFIG_T::k_frac + CONFIG_T::score_shift;
    int f = (CONFIG_T::has_bias && CONFIG_T::bias_frac > s_frac) ? CONFIG_T::bias_frac : s_frac;
    const i64 one_e = 1 << CONFIG_T::exp_in_frac;
WindowLoop:
    for (unsigned w = 0; w < CONFIG_T::n_windows; w++) {
    HeadLoop:
        for (unsigned h = 0; h < CONFIG_T::heads; h++) {
        RowLoop:
            for (unsigned i = 0; i < N; i++) {
                i64 z[CONFIG_T::n_tokens], e[CONFIG_T::n_tokens];
                bool on[CONFIG_T::n_tokens];
                i64 zmax = 0;
                bool first = true;
                for (unsigned j = 0; j < N; j++) {
                    i64 s = 0;
                    for (unsigned d = 0; d < HD; d++)
                        s += code<true>(q[(w * N + i) * D + h * HD + d]) * code<true>(k[(w * N + j) * D + h * HD + d]);
                    z[j] = s * (1LL << (f - s_frac));
                    if (CONFIG_T::has_bias)
                        z[j] += (i64)bias[(h * N + i) * N + j] * (1LL << (f - CONFIG_T::bias_frac));
                    on[j] = !CONFIG_T::has_mask || mask[((w % CONFIG_T::mask_windows) * N + i) * N + j] != 0;
                    if (on[j] && (first || z[j] > zmax)) {
                        zmax = z[j];
                        first = false;
                    }
                }
                i64 sum = 0;
                for (unsigned j = 0; j < N; j++) {
                    i64 t = floor_shift(z[j] - zmax, f - CONFIG_T::exp_in_frac);
                    const i64 tmin = -((i64)CONFIG_T::min_shift << CONFIG_T::exp_in_frac);
                    if (t < tmin) t = tmin;
                    i64 qd = t >> CONFIG_T::exp_in_frac;  // floor, <= 0
                    e[j] = on[j] ? ((i64)exp_lut[t - qd * one_e] >> (-qd)) : 0;
                    sum += e[j];
                }
                i64 inv = (1LL << CONFIG_T::recip_bits) / sum;
                for (unsigned d = 0; d < HD; d++) {
                    i64 acc = 0;
                    for (unsigned j = 0; j < N; j++) {
                        i64 p = (e[j] * inv) >> (CONFIG_T::recip_bits - CONFIG_T::prob_frac);
                        if (p > CONFIG_T::prob_max) p = CONFIG_T::prob_max;
                        acc += p * code<true>(v[(w * N + j) * D + h * HD + d]);
                    }
                    i64 y = round_shift(acc, CONFIG_T::prob_frac + CONFIG_T::v_frac - CONFIG_T::out_frac);
                    set_code(res[(w * N + i) * D + h * HD + d], saturate(y, CONFIG_T::out_min, CONFIG_T::out_max));
                }
            }
        }
    }
}

} // namespace vitflow

#endif

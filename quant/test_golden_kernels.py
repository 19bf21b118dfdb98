"""Each golden kernel against its Brevitas / torch counterpart, on random and edge values: 0 mismatches."""

import brevitas.nn as qnn
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Int32Bias
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vitflow.model.layers import export_weights
from vitflow.model.mobilevit import unfold
from vitflow.model.swin import partition, reverse, shifted_window_mask
from vitflow.quant import golden_kernels as K
from vitflow.quant import int_ops, spec
from vitflow.quant.spec import PROB, IntFormat, Rounding

INT8 = IntFormat(8, True, 0)
int8_rows = arrays(np.int64, st.tuples(st.integers(1, 6), st.sampled_from([2, 3, 16, 48])),
                   elements=st.integers(-128, 127))


def brevitas_act(frac: int):
    """An eval-mode Brevitas fixed-point int8 quantizer whose learned scale is 2**-frac."""
    q = qnn.QuantIdentity(Int8ActPerTensorFixedPoint, return_quant_tensor=True)
    q.train()
    for _ in range(40):  # stats phase, then the learned power-of-two scale
        q(torch.linspace(-1, 1, 64) * 127.5 * 2.0**-frac)
    q.eval()
    assert spec.frac_from_scale(q.act_quant.scale(), "test") == frac
    return q


@pytest.mark.parametrize("frac", [-2, 0, 3, 7])
def test_requantize_matches_brevitas(frac):
    rng = np.random.default_rng(frac + 10)
    in_frac = 9
    acc = np.concatenate([rng.integers(-2**20, 2**20, 4000), [0, 2**30, -2**30],
                          # exact ties at the output grid: round half to even must agree
                          (np.arange(-300, 300) * 2 + 1) << (in_frac - frac - 1)])
    q = brevitas_act(frac)
    ref = q(torch.from_numpy(acc * 2.0**-in_frac).float()).int().numpy()
    got = K.requantize(acc, in_frac, IntFormat(8, True, frac))
    assert np.count_nonzero(got != ref) == 0


@given(x=arrays(np.int64, 64, elements=st.integers(-2**40, 2**40)), s=st.integers(-4, 20))
def test_shift_round_matches_torch_round(x, s):
    ref = torch.round(torch.from_numpy(x).double() * 2.0**-s).long().numpy()
    assert np.array_equal(K.shift_round(x, s, Rounding.HALF_EVEN), ref)
    assert np.array_equal(K.shift_round(x, s, Rounding.FLOOR), np.floor(x * 2.0**-s).astype(np.int64))


@pytest.mark.parametrize("wbits", [8, 4])
def test_linear_matches_quantlinear(wbits):
    torch.manual_seed(wbits)
    q = brevitas_act(4)
    lin = qnn.QuantLinear(48, 20, bias=True, weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=wbits,
                          bias_quant=Int32Bias, return_quant_tensor=False).eval()
    out = brevitas_act(2)
    x = torch.cat([torch.randn(300, 48) * 3, torch.full((1, 48), 100.0), torch.zeros(1, 48)])
    xq = q(x)
    ref = out(lin(xq)).int().numpy()
    w = export_weights(lin, 4)
    got = K.linear(xq.int().numpy(), 4, w["weight"], w["w_frac"], w["bias"], IntFormat(8, True, 2))
    assert np.count_nonzero(got != ref) == 0


@pytest.mark.parametrize("stride,padding,groups", [(1, 1, 1), (2, 1, 8), (2, 0, 1), (1, 0, 8)])
def test_conv2d_matches_quantconv(stride, padding, groups):
    torch.manual_seed(groups)
    q, out = brevitas_act(3), brevitas_act(1)
    conv = qnn.QuantConv2d(8, 16, 3, stride, padding, groups=groups, bias=True,
                           weight_quant=Int8WeightPerTensorFixedPoint, bias_quant=Int32Bias).eval()
    xq = q(torch.randn(5, 8, 8, 8) * 4)
    ref = out(conv(xq)).int().numpy()
    w = export_weights(conv, 3)
    got = K.conv2d(xq.int().numpy(), 3, w["weight"], w["w_frac"], w["bias"], IntFormat(8, True, 1),
                   stride, padding, groups)
    assert np.count_nonzero(got != ref) == 0


@settings(max_examples=200, deadline=None)
@given(x=int8_rows, frac=st.integers(-3, 7))
def test_layernorm_matches_torch_kernel(x, frac):
    ref = int_ops.layernorm(torch.from_numpy(x * 2.0**-frac), 2.0**-frac).double().numpy()
    got = K.layernorm(x)
    assert np.array_equal(got * 2.0**-spec.layernorm_out_frac(x.shape[-1]), ref)


def test_layernorm_edges_and_accuracy():
    dim = 48
    out_frac = spec.layernorm_out_frac(dim)
    edge = np.array([[0] * dim, [127] * dim, [-128] * dim, [-128] + [127] * (dim - 1), [127] + [-128] * (dim - 1)])
    got = K.layernorm(edge)
    assert np.all(got[:3] == 0)  # constant rows normalize to 0, not to a division by zero
    assert got.min() >= -128 and got.max() <= 127  # the largest |z| = sqrt(dim - 1) fits
    x = np.random.default_rng(0).integers(-128, 128, (500, dim))
    ref = F.layer_norm(torch.from_numpy(x).double(), (dim,)).numpy()
    assert np.abs(K.layernorm(x) * 2.0**-out_frac - ref).max() <= 2.0**-out_frac


@settings(max_examples=200, deadline=None)
@given(z=arrays(np.int64, st.tuples(st.integers(1, 4), st.sampled_from([1, 4, 16, 17])),
                elements=st.integers(-2**20, 2**20)),
       z_frac=st.integers(0, 14), use_mask=st.booleans(), seed=st.integers(0, 99))
def test_softmax_matches_torch_kernel(z, z_frac, use_mask, seed):
    mask = None
    if use_mask:
        mask = np.random.default_rng(seed).random(z.shape) < 0.6
        mask[:, 0] = True  # every row attends somewhere (Swin's diagonal)
    ref = int_ops.softmax(torch.from_numpy(z * 2.0**-z_frac), 2.0**-z_frac,
                          None if mask is None else torch.from_numpy(mask)).numpy()
    got = K.softmax(z, z_frac, mask)
    assert np.array_equal(got * 2.0**-PROB.frac, ref)
    assert got.min() >= 0 and got.max() <= PROB.max
    if mask is not None:
        assert np.all(got[~mask] == 0)


def test_softmax_edges_and_accuracy():
    z = np.array([[0, 0, 0, 0], [2**30, 0, 0, 0], [5, 5, 5, -2**30], [-2**30] * 4])
    p = K.softmax(z, 4)
    assert p[0].tolist() == [64] * 4 and p[1].tolist() == [255, 0, 0, 0] and p[2, 3] == 0 and p[3, 0] == 64
    z = np.random.default_rng(1).integers(-400, 400, (1000, 16))
    ref = torch.softmax(torch.from_numpy(z * 2.0**-6 * np.log(2)), -1).numpy()
    assert np.abs(K.softmax(z, 6) / 256 - ref).max() < 0.02


@pytest.mark.parametrize("frac", [0, 3, 5, 7])
def test_gelu_matches_torch_kernel_and_float(frac):
    fmt = IntFormat(8, True, frac)
    x = np.arange(-128, 128)
    lut = spec.gelu_lut(fmt)
    ref = int_ops.gelu(torch.from_numpy(x * 2.0**-frac).float(), fmt).double().numpy()
    assert np.array_equal(K.gelu(x, lut, fmt) * 2.0**-frac, ref)
    f = F.gelu(torch.from_numpy(x * 2.0**-frac)).clamp(fmt.min * fmt.scale, fmt.max * fmt.scale).numpy()
    assert np.abs(K.gelu(x, lut, fmt) * fmt.scale - f).max() <= 0.5 * fmt.scale + 1e-12


@pytest.mark.parametrize("fa,fb", [(3, 5), (5, 3), (4, 4)])
def test_residual_add_and_pool_match_brevitas(fa, fb):
    rng = np.random.default_rng(fa * 7 + fb)
    a, b = rng.integers(-128, 128, (200, 16, 8)), rng.integers(-128, 128, (200, 16, 8))
    a[0], b[0] = 127, 127  # saturation
    q = brevitas_act(3)
    ref = q(torch.from_numpy(a * 2.0**-fa + b * 2.0**-fb).float()).int().numpy()
    assert np.count_nonzero(K.residual_add(a, fa, b, fb, IntFormat(8, True, 3)) != ref) == 0
    ref = q(torch.from_numpy(a * 2.0**-fa).float().mean(1)).int().numpy()
    assert np.count_nonzero(K.pool(a, fa, IntFormat(8, True, 3), (1,)) != ref) == 0


def test_attention_matches_torch_composition():
    """Scores, relative bias, shifted-window mask, softmax, context: golden vs the torch integer kernels."""
    rng = np.random.default_rng(3)
    heads, n, dim, windows = 2, 4, 32, 4
    q, k, v = (rng.integers(-128, 128, (windows * 3, n, dim)) for _ in range(3))
    q[0], k[0] = 127, -128  # extremes
    fq, fk, fv, fb = 4, 5, 3, 6
    bias = rng.integers(-127, 128, (heads, n, n))
    mask = shifted_window_mask(4, 2, 1).numpy()
    out = IntFormat(8, True, 4)
    got = K.attention(q, k, v, fq, fk, fv, heads, out, bias, fb, mask)

    def split(t, f):
        return torch.from_numpy(t * 2.0**-f).view(-1, n, heads, dim // heads).transpose(1, 2)

    shift = spec.attention_score_shift(dim // heads)
    s = split(q, fq) @ split(k, fk).transpose(-2, -1) * 2.0**-shift + torch.from_numpy(bias * 2.0**-fb)
    m = torch.from_numpy(mask).repeat(3, 1, 1)[:, None]
    p = int_ops.softmax(s, 2.0 ** -max(fq + fk + shift, fb), m)
    ctx = (p @ split(v, fv)).transpose(1, 2).reshape(-1, n, dim)
    ref = torch.clamp(torch.round(ctx * 2.0**out.frac), -128, 127).long().numpy()
    assert np.count_nonzero(got != ref) == 0


def test_data_movement_matches_torch():
    x = np.arange(2 * 5 * 4 * 4).reshape(2, 5, 4, 4)
    assert np.array_equal(K.unfold(x, 2), unfold(torch.from_numpy(x), 2).numpy())
    assert np.array_equal(K.fold(K.unfold(x, 2), 2, 4, 4), x)
    t = np.arange(2 * 16 * 3).reshape(2, 16, 3)
    for shift in (0, 1):
        w = K.window_partition(t, 4, 2, shift)
        assert np.array_equal(w, partition(torch.from_numpy(t), 4, 2, shift).numpy())
        assert np.array_equal(K.window_reverse(w, 4, 2, shift), t)
        assert np.array_equal(reverse(torch.from_numpy(w), 4, 2, shift).numpy(), t)


def test_int4_and_pixel_formats():
    w4 = IntFormat(4, True, 3, narrow=True)
    assert (w4.min, w4.max, w4.dtype) == (-7, 7, np.dtype("int8"))
    assert spec.PIXEL.hls_type() == "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"
    assert spec.frac_from_scale(0.125, "x") == 3
    with pytest.raises(ValueError):
        spec.frac_from_scale(0.3, "x")

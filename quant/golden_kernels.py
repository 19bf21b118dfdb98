"""The golden model's kernels: NumPy, integers in, integers out, one function per kernel, no torch.

Kernel names match the HLS kernels, the RTL modules and their tests. Every number that is not an argument
comes from quant.spec. Arithmetic is int64; matrix products go through float64 BLAS, exact because the model
file validator bounds every accumulator far below 2**53.
"""

from __future__ import annotations

import numpy as np

from . import spec
from .spec import PROB, IntFormat, Rounding


def shift_round(x: np.ndarray, shift: int, rounding: Rounding = spec.REQUANT_ROUNDING) -> np.ndarray:
    """x * 2**-shift rounded to an integer: exact left shift when shift <= 0."""
    x = np.asarray(x, dtype=np.int64)
    if shift <= 0:
        return x << -shift
    q = x >> shift  # arithmetic shift: floor
    if rounding is Rounding.FLOOR:
        return q
    r = x - (q << shift)
    half = 1 << (shift - 1)
    return q + ((r > half) | ((r == half) & (q & 1 == 1)))


def saturate(x: np.ndarray, fmt: IntFormat) -> np.ndarray:
    return np.clip(x, fmt.min, fmt.max)


def requantize(x: np.ndarray, in_frac: int, out: IntFormat) -> np.ndarray:
    """Move integers from grid 2**-in_frac to `out`: shift, round half to even, saturate."""
    return saturate(shift_round(x, in_frac - out.frac), out)


def matmul_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer matrix product through float64 BLAS; exact while |partial sums| < 2**53."""
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def linear(x, x_frac, weight, w_frac, bias, out: IntFormat | None):
    """y = requantize(x @ W^T + b); `out` None returns the raw accumulator (frac x_frac + w_frac)."""
    acc = matmul_exact(x, weight.T) + bias.astype(np.int64)
    return acc if out is None else requantize(acc, x_frac + w_frac, out)


def conv2d(x, x_frac, weight, w_frac, bias, out: IntFormat, stride=1, padding=0, groups=1):
    """NCHW convolution with integer weights [O, I/groups, kh, kw], then requantize."""
    n, c, _, _ = x.shape
    o, cg, kh, kw = weight.shape
    xp = np.pad(np.asarray(x, np.int64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    ho, wo = win.shape[2:4]
    og = o // groups
    acc = np.empty((n, o, ho, wo), np.int64)
    for g in range(groups):
        cols = win[:, g * cg:(g + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, cg * kh * kw)
        wg = weight[g * og:(g + 1) * og].reshape(og, cg * kh * kw)
        acc[:, g * og:(g + 1) * og] = matmul_exact(cols, wg.T).reshape(n, ho, wo, og).transpose(0, 3, 1, 2)
    acc += bias.astype(np.int64)[None, :, None, None]
    return requantize(acc, x_frac + w_frac, out)


def patch_embed(img, img_frac, weight, w_frac, bias, out: IntFormat):
    """Non-overlapping patches (kernel = stride) projected to tokens: [B, C, H, W] -> [B, N, D]."""
    y = conv2d(img, img_frac, weight, w_frac, bias, out, stride=weight.shape[-1])
    return y.reshape(y.shape[0], y.shape[1], -1).transpose(0, 2, 1)


def isqrt(n: np.ndarray) -> np.ndarray:
    """floor(sqrt(n)) for int64 n >= 0, exact (float estimate, then integer correction)."""
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(np.int64)
    r -= r * r > n
    r += (r + 1) * (r + 1) <= n
    return r


def layernorm(x: np.ndarray) -> np.ndarray:
    """Integer LayerNorm without affine (folded into the next linear) over the last axis.

    d_i = D*x_i - sum(x) keeps the mean exact; (x_i - mean)/std = d_i * D / sqrt(D * sum(d^2)), floored onto
    2**-layernorm_out_frac(D). Independent of the input's scale. All-equal inputs give 0.
    """
    x = np.asarray(x, np.int64)
    dim = x.shape[-1]
    d = dim * x - x.sum(-1, keepdims=True)
    r = np.maximum(isqrt(dim * (d * d).sum(-1, keepdims=True)), 1)
    n = np.floor_divide(d * (dim << spec.layernorm_out_frac(dim)), r)
    return saturate(n, IntFormat(spec.ACT_BITS, True, spec.layernorm_out_frac(dim)))


def softmax(z: np.ndarray, z_frac: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Base-2 integer softmax over the last axis -> uint8 probabilities on PROB's grid.

    t = floor((z - max z) onto 2**-E), 2**t = lut[t mod 2**E] >> -(t div 2**E), p = e * floor(2**K / sum e).
    Masked entries (mask False) get probability 0.
    """
    z = np.asarray(z, np.int64)
    big = np.iinfo(np.int64).min // 4
    if mask is not None:
        z = np.where(mask, z, big)
    t = shift_round(z - z.max(-1, keepdims=True), z_frac - spec.SOFTMAX_EXP_IN_FRAC, Rounding.FLOOR)
    t = np.maximum(t, -(spec.SOFTMAX_MIN_SHIFT << spec.SOFTMAX_EXP_IN_FRAC))
    q = t >> spec.SOFTMAX_EXP_IN_FRAC
    e = spec.exp2_lut()[t - (q << spec.SOFTMAX_EXP_IN_FRAC)] >> -q
    if mask is not None:
        e = np.where(mask, e, 0)
    inv = (1 << spec.SOFTMAX_RECIP_BITS) // e.sum(-1, keepdims=True)
    return np.minimum((e * inv) >> (spec.SOFTMAX_RECIP_BITS - PROB.frac), PROB.max)


def attention(q, k, v, q_frac, k_frac, v_frac, heads: int, out: IntFormat,
              bias=None, bias_frac: int = 0, mask=None):
    """Multi-head attention core on [B, N, D] integers: scores, (+bias), softmax, context, requantize.

    bias: [heads, N, N] added on the common grid of scores and bias. mask: [W, N, N] booleans for B = images*W
    windows (window b % W). Returns [B, N, D] in `out`.
    """
    b, n, dim = q.shape
    hd = dim // heads

    def split(t):
        return np.asarray(t, np.int64).reshape(b, n, heads, hd).transpose(0, 2, 1, 3)

    qh, kh, vh = split(q), split(k), split(v)
    s = matmul_exact(qh, kh.transpose(0, 1, 3, 2))
    s_frac = q_frac + k_frac + spec.attention_score_shift(hd)
    if bias is not None:
        f = max(s_frac, bias_frac)
        s = (s << (f - s_frac)) + (np.asarray(bias, np.int64) << (f - bias_frac))[None]
        s_frac = f
    m = None
    if mask is not None:
        m = np.tile(np.asarray(mask, bool), (b // mask.shape[0], 1, 1))[:, None]
    p = softmax(s, s_frac, m)
    ctx = matmul_exact(p, vh)
    y = requantize(ctx, PROB.frac + v_frac, out)
    return y.transpose(0, 2, 1, 3).reshape(b, n, dim)


def gelu(x: np.ndarray, lut: np.ndarray, fmt: IntFormat) -> np.ndarray:
    """GELU by table: lut[x - fmt.min], same format in and out (spec.gelu_lut)."""
    return lut[np.asarray(x, np.int64) - fmt.min]


def residual_add(a, a_frac, b, b_frac, out: IntFormat):
    """a + b on the finer grid of the two, then requantize."""
    f = max(a_frac, b_frac)
    s = (np.asarray(a, np.int64) << (f - a_frac)) + (np.asarray(b, np.int64) << (f - b_frac))
    return requantize(s, f, out)


def pool(x, x_frac, out: IntFormat, axes: tuple[int, ...] = (1,)):
    """Mean over `axes` (a power-of-two count): the sum, shifted by log2(count) within requantize."""
    n = spec.log2_exact(int(np.prod([x.shape[a] for a in axes])), "pooled count")
    return requantize(np.asarray(x, np.int64).sum(axis=axes), x_frac + n, out)


def concat(xs, axis: int = 1):
    """Channel concatenation; the model file guarantees equal formats."""
    return np.concatenate(xs, axis=axis)


def unfold(x: np.ndarray, patch: int) -> np.ndarray:
    """MobileViT unfold: [B, C, H, W] -> [B*P, N, C], P = patch**2 pixel positions, N patches."""
    b, c, h, w = x.shape
    t = x.reshape(b, c, h // patch, patch, w // patch, patch)
    return t.transpose(0, 3, 5, 2, 4, 1).reshape(b * patch * patch, (h // patch) * (w // patch), c)


def fold(x: np.ndarray, patch: int, h: int, w: int) -> np.ndarray:
    """Inverse of unfold: [B*P, N, C] -> [B, C, H, W]."""
    bp, _, c = x.shape
    b = bp // (patch * patch)
    t = x.reshape(b, patch, patch, h // patch, w // patch, c)
    return t.transpose(0, 5, 3, 1, 4, 2).reshape(b, c, h, w)


def window_partition(x: np.ndarray, grid: int, window: int, shift: int) -> np.ndarray:
    """Swin: roll tokens [B, grid*grid, D] by -shift, cut into windows -> [B*W, window**2, D]."""
    b, _, dim = x.shape
    t = np.roll(x.reshape(b, grid, grid, dim), (-shift, -shift), axis=(1, 2))
    g = grid // window
    t = t.reshape(b, g, window, g, window, dim).transpose(0, 1, 3, 2, 4, 5)
    return t.reshape(b * g * g, window * window, dim)


def window_reverse(x: np.ndarray, grid: int, window: int, shift: int) -> np.ndarray:
    """Inverse of window_partition: [B*W, window**2, D] -> [B, grid*grid, D], rolled back by +shift."""
    g = grid // window
    dim = x.shape[-1]
    b = x.shape[0] // (g * g)
    t = x.reshape(b, g, g, window, window, dim).transpose(0, 1, 3, 2, 4, 5).reshape(b, grid, grid, dim)
    return np.roll(t, (shift, shift), axis=(1, 2)).reshape(b, grid * grid, dim)

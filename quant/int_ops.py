"""Torch forms of the integer kernels that Brevitas lacks (LayerNorm, softmax, GELU, parameter quantizers).

The forward value is computed exactly as the golden kernel computes it (integer-valued float64 with explicit
floor, exact below 2**53; ONNX would turn int64 `//` into a truncating Div), and the gradient is that of the
float op (straight-through): `value + (float - float.detach())` keeps the value bit-exact in fp32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import spec
from .spec import PROB, IntFormat


def ste(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """Forward `value`, backward through `surrogate`."""
    return value.to(surrogate.dtype) + (surrogate - surrogate.detach())


def floor_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """floor(num / den) for integer-valued float64 tensors, den > 0, corrected to be exact."""
    q = torch.floor(num / den)
    q = q - (q * den > num).to(q.dtype)
    return q + ((q + 1) * den <= num).to(q.dtype)


def isqrt(n: torch.Tensor) -> torch.Tensor:
    """floor(sqrt(n)) for integer-valued float64 n >= 0, exact."""
    r = torch.floor(torch.sqrt(n))
    r = r - (r * r > n).to(r.dtype)
    return r + ((r + 1) * (r + 1) <= n).to(r.dtype)


def layernorm(x: torch.Tensor, x_scale) -> torch.Tensor:
    """Integer LayerNorm (golden_kernels.layernorm) of values on grid `x_scale`; returns values."""
    dim = x.shape[-1]
    out_frac = spec.layernorm_out_frac(dim)
    with torch.no_grad():
        xi = torch.round(x.detach().double() / float(x_scale))
        d = dim * xi - xi.sum(-1, keepdim=True)
        r = torch.clamp(isqrt(dim * (d * d).sum(-1, keepdim=True)), min=1)
        n = floor_div(d * float(dim << out_frac), r).clamp(-(1 << (spec.ACT_BITS - 1)), (1 << (spec.ACT_BITS - 1)) - 1)
    return ste(n * 2.0**-out_frac, F.layer_norm(x, (dim,)))


def softmax(z: torch.Tensor, z_scale, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Base-2 integer softmax (golden_kernels.softmax) of values z on grid `z_scale` (2**-frac)."""
    e_frac = spec.SOFTMAX_EXP_IN_FRAC
    lut = torch.as_tensor(spec.exp2_lut(), dtype=torch.float64, device=z.device)
    with torch.no_grad():
        z_scale = float(z_scale)
        zi = torch.round(z.detach().double() / z_scale)
        if mask is not None:
            zi = zi.masked_fill(~mask, -(2.0**52))
        d = zi - zi.amax(-1, keepdim=True)
        t = torch.floor(d * (z_scale * 2.0**e_frac))
        t = torch.clamp(t, min=-float(spec.SOFTMAX_MIN_SHIFT << e_frac))
        q = torch.floor(t * 2.0**-e_frac)
        index = (t - q * 2.0**e_frac).long()  # novermin (torch.Tensor.long, not Python 2's long)
        e = torch.floor(lut[index] * torch.pow(2.0, q))  # exp2 has no ONNX export
        if mask is not None:
            e = e.masked_fill(~mask, 0.0)
        inv = floor_div(torch.full_like(e[..., :1], 2.0**spec.SOFTMAX_RECIP_BITS), e.sum(-1, keepdim=True))
        p = torch.clamp(torch.floor(e * inv * 2.0 ** (PROB.frac - spec.SOFTMAX_RECIP_BITS)), max=PROB.max)
    zf = z * math.log(2.0)
    if mask is not None:
        zf = zf.masked_fill(~mask, float("-inf"))
    return ste(p * 2.0**-PROB.frac, torch.softmax(zf, -1))


def gelu(x: torch.Tensor, fmt: IntFormat) -> torch.Tensor:
    """GELU by the spec's table (golden_kernels.gelu) on values of format `fmt`; same format out."""
    lut = torch.as_tensor(spec.gelu_lut(fmt), dtype=torch.float32, device=x.device)
    with torch.no_grad():
        idx = (torch.round(x.detach() * 2.0**fmt.frac) - fmt.min).long()  # novermin (torch.Tensor.long)
        y = lut[idx] * 2.0**-fmt.frac
    return ste(y, F.gelu(x))


def param_frac(w: torch.Tensor, bits: int = spec.ACT_BITS) -> int:
    """Power-of-two grid for a parameter tensor: the finest that holds max|w| in `bits` (narrow range)."""
    m = float(w.detach().abs().max())
    return 0 if m == 0.0 else math.floor(math.log2(((1 << (bits - 1)) - 1) / m))


def quantize_param(w: torch.Tensor, bits: int = spec.ACT_BITS) -> tuple[torch.Tensor, int]:
    """Fake-quantize a parameter (position embedding, relative position bias) to a power-of-two grid.

    Returns (values, frac); the integers are round(values * 2**frac).
    """
    frac = param_frac(w, bits)
    lim = (1 << (bits - 1)) - 1
    with torch.no_grad():
        v = torch.clamp(torch.round(w.detach() * 2.0**frac), -lim, lim) * 2.0**-frac
    return ste(v, w), frac

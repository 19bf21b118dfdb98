"""Building blocks shared by the three architectures, each in a float and a quantized (Brevitas QAT) form.

Quantized form: Brevitas fixed-point (power-of-two) quantizers at every requantization point, QuantLinear /
QuantConv2d with Int32Bias, and the integer kernels of quant.int_ops for LayerNorm, softmax and GELU. Each
block also writes itself into the integer model file (`export`), op for op as the golden model runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import brevitas.nn as qnn
import torch
import torch.nn.functional as F
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Int32Bias,
    Uint8ActPerTensorFixedPoint,
)
from brevitas.quant_tensor import IntQuantTensor
from torch import nn

from ..quant import int_ops, spec
from ..quant.spec import IntFormat


@dataclass(frozen=True)
class QuantConfig:
    enabled: bool = True
    weight_bits: int = 8


def val(x):
    """The float values of a tensor or QuantTensor."""
    return x.value if isinstance(x, IntQuantTensor) else x


def map_values(x, fn):
    """Apply a data-movement function (reshape, roll, ...) to values, keeping a QuantTensor's grid."""
    if isinstance(x, IntQuantTensor):
        return as_qt(fn(x.value), x.scale, bool(x.signed), int(x.bit_width))
    return fn(x)


def as_qt(value: torch.Tensor, scale, signed: bool = True, bits: int = spec.ACT_BITS) -> IntQuantTensor:
    """Wrap values that already lie on grid `scale` so Brevitas layers (Int32Bias) can read their scale."""
    t = lambda v: torch.as_tensor(v, dtype=torch.float32, device=value.device)  # noqa: E731
    return IntQuantTensor(value, t(scale), t(0.0), t(float(bits)), signed, value.requires_grad)


def po2_frac(scale) -> int | None:
    """Fractional bits of a power-of-two scale, or None (Brevitas' stats phase has free scales)."""
    try:
        return spec.frac_from_scale(float(scale.detach()) if torch.is_tensor(scale) else float(scale), "scale")
    except ValueError:
        return None


class Act(nn.Module):
    """A requantization point: Brevitas fixed-point int8 (uint8 after ReLU) quantizer; identity when float."""

    def __init__(self, q: QuantConfig, relu: bool = False):
        super().__init__()
        self.relu = relu
        if not q.enabled:
            self.quant = nn.ReLU() if relu else nn.Identity()
        elif relu:
            self.quant = qnn.QuantReLU(Uint8ActPerTensorFixedPoint, return_quant_tensor=True)
        else:
            self.quant = qnn.QuantIdentity(Int8ActPerTensorFixedPoint, return_quant_tensor=True)

    def forward(self, x):
        return self.quant(val(x) if isinstance(self.quant, (nn.Identity, nn.ReLU)) else x)

    def fmt(self) -> IntFormat:
        frac = spec.frac_from_scale(self.quant.act_quant.scale(), "activation quantizer")
        return IntFormat(spec.ACT_BITS, signed=not self.relu, frac=frac)


def linear(q: QuantConfig, n_in: int, n_out: int) -> nn.Module:
    if not q.enabled:
        return nn.Linear(n_in, n_out)
    return qnn.QuantLinear(n_in, n_out, bias=True, weight_quant=Int8WeightPerTensorFixedPoint,
                           weight_bit_width=q.weight_bits, bias_quant=Int32Bias, return_quant_tensor=False)


def conv(q: QuantConfig, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0,
         groups: int = 1) -> nn.Module:
    if not q.enabled:
        return nn.Conv2d(c_in, c_out, k, stride, padding, groups=groups)
    return qnn.QuantConv2d(c_in, c_out, k, stride, padding, groups=groups, bias=True,
                           weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=q.weight_bits,
                           bias_quant=Int32Bias, return_quant_tensor=False)


def export_weights(layer: nn.Module, x_frac: int) -> dict:
    """Integer weight, Int32Bias integers on the accumulator grid, and the weight's fractional bits."""
    w = layer.quant_weight()
    w_frac = spec.frac_from_scale(w.scale, "weight quantizer")
    bias = torch.round(layer.bias.detach().double() * 2.0 ** (x_frac + w_frac))
    bias = bias.clamp(-(2 ** (spec.BIAS_BITS - 1)), 2 ** (spec.BIAS_BITS - 1) - 1)
    return {"weight": w.int().numpy(), "bias": bias.long().numpy(), "w_frac": w_frac}


class LinearAct(nn.Module):
    """linear kernel: (Quant)Linear followed by its requantization (none for the head: raw accumulator)."""

    def __init__(self, q: QuantConfig, n_in: int, n_out: int, act: bool = True, relu: bool = False):
        super().__init__()
        self.fc = linear(q, n_in, n_out)
        self.act = Act(q, relu) if act else None

    def forward(self, x):
        y = self.fc(x)
        return self.act(y) if self.act is not None else y

    def export(self, g, name: str, x: str) -> str:
        w = export_weights(self.fc, g.fmt(x).frac)
        out = self.act.fmt() if self.act is not None else None
        return g.add("linear", name, [x], out, arrays={"weight": w["weight"], "bias": w["bias"]},
                     w_frac=w["w_frac"])


class ConvAct(nn.Module):
    """conv kernel: (Quant)Conv2d followed by its requantization (uint8 when followed by ReLU)."""

    def __init__(self, q: QuantConfig, c_in, c_out, k, stride=1, padding=0, groups=1, relu=False,
                 act: Act | None = None):
        super().__init__()
        self.conv = conv(q, c_in, c_out, k, stride, padding, groups)
        self.act = act if act is not None else Act(q, relu)  # a shared Act puts two outputs on one grid

    def forward(self, x):
        return self.act(self.conv(x))

    def export(self, g, name: str, x: str, op: str = "conv") -> str:
        w = export_weights(self.conv, g.fmt(x).frac)
        attrs = {} if op == "patch_embed" else {
            "stride": self.conv.stride[0], "padding": self.conv.padding[0], "groups": self.conv.groups}
        return g.add(op, name, [x], self.act.fmt(), arrays={"weight": w["weight"], "bias": w["bias"]},
                     w_frac=w["w_frac"], **attrs)


class LayerNorm(nn.Module):
    """layernorm kernel: integer mean/variance/isqrt, no affine (the next linear layer absorbs it)."""

    def __init__(self, q: QuantConfig, dim: int):
        super().__init__()
        self.q, self.dim = q, dim

    def forward(self, x):
        if not self.q.enabled:
            return F.layer_norm(x, (self.dim,))
        frac = spec.layernorm_out_frac(self.dim)
        y = int_ops.layernorm(x.value, x.scale)
        return as_qt(y.float(), 2.0**-frac)

    def export(self, g, name: str, x: str) -> str:
        return g.add("layernorm", name, [x], IntFormat(spec.ACT_BITS, True, spec.layernorm_out_frac(self.dim)))


class GELU(nn.Module):
    """gelu kernel: a table over the int8 input, output on the same grid."""

    def __init__(self, q: QuantConfig):
        super().__init__()
        self.q = q

    def forward(self, x):
        if not self.q.enabled:
            return F.gelu(x)
        frac = po2_frac(x.scale)
        if frac is None:  # Brevitas' stats phase: scales not yet powers of two
            return as_qt(F.gelu(x.value), x.scale)
        return as_qt(int_ops.gelu(x.value, IntFormat(spec.ACT_BITS, True, frac)), x.scale)

    def export(self, g, name: str, x: str) -> str:
        fmt = g.fmt(x)
        return g.add("gelu", name, [x], fmt, arrays={"lut": spec.gelu_lut(fmt)})


class ResidualAdd(nn.Module):
    """residual_add kernel: a + b, requantized."""

    def __init__(self, q: QuantConfig):
        super().__init__()
        self.act = Act(q)

    def forward(self, a, b):
        return self.act(val(a) + val(b))

    def export(self, g, name: str, a: str, b: str) -> str:
        return g.add("residual_add", name, [a, b], self.act.fmt())


class Pool(nn.Module):
    """pool kernel: mean over the given axes (a power-of-two count), requantized."""

    def __init__(self, q: QuantConfig, axes: tuple[int, ...]):
        super().__init__()
        self.axes = axes
        self.act = Act(q)

    def forward(self, x):
        return self.act(val(x).mean(self.axes))

    def export(self, g, name: str, x: str) -> str:
        return g.add("pool", name, [x], self.act.fmt(), axes=list(self.axes))


class MLP(nn.Module):
    """fc1 -> GELU -> fc2."""

    def __init__(self, q: QuantConfig, dim: int, hidden: int):
        super().__init__()
        self.fc1 = LinearAct(q, dim, hidden)
        self.gelu = GELU(q)
        self.fc2 = LinearAct(q, hidden, dim)

    def forward(self, x):
        return self.fc2(self.gelu(self.fc1(x)))

    def export(self, g, name: str, x: str) -> str:
        h = self.gelu.export(g, f"{name}.gelu", self.fc1.export(g, f"{name}.fc1", x))
        return self.fc2.export(g, f"{name}.fc2", h)

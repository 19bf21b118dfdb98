"""Multi-head self-attention (optionally windowed, with relative position bias and mask) and pre-LN blocks."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..quant import int_ops, spec
from .layers import MLP, Act, LayerNorm, LinearAct, QuantConfig, ResidualAdd, val


def relative_position_index(window: int) -> torch.Tensor:
    """Swin/BEiT index [N, N] into a ((2w-1)**2)-entry table for every pair of tokens in a w x w window."""
    ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()])
    rel = (coords[:, :, None] - coords[:, None, :]) + (window - 1)
    return rel[0] * (2 * window - 1) + rel[1]


class Attention(nn.Module):
    """attention kernel (scores, optional bias/mask, base-2 softmax, context) between q/k/v and proj."""

    def __init__(self, q: QuantConfig, dim: int, heads: int, window: int | None = None):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.quant, self.heads, self.head_dim = q, heads, dim // heads
        self.shift = spec.attention_score_shift(self.head_dim)
        self.q, self.k, self.v = (LinearAct(q, dim, dim) for _ in range(3))
        self.ctx_act = Act(q)
        self.proj = LinearAct(q, dim, dim)
        self.rel_bias = None
        if window is not None:  # learned relative position bias (Swin/BEiT)
            self.rel_bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
            nn.init.trunc_normal_(self.rel_bias, std=0.02)
            self.register_buffer("rel_index", relative_position_index(window), persistent=False)

    def bias(self) -> tuple[torch.Tensor, int | None]:
        """Bias [heads, N, N] (fake-quantized when quantizing) and its fractional bits."""
        table, frac = (int_ops.quantize_param(self.rel_bias) if self.quant.enabled else (self.rel_bias, None))
        n = self.rel_index.shape[0]
        return table[self.rel_index.flatten()].view(n, n, -1).permute(2, 0, 1), frac

    def forward(self, x, mask: torch.Tensor | None = None):
        """x: [B, N, D]; mask: [W, N, N] booleans (True = attend) for B = images * W windows."""
        q, k, v = self.q(x), self.k(x), self.v(x)
        b, n, d = val(q).shape

        def heads(t):
            return val(t).view(b, n, self.heads, self.head_dim).transpose(1, 2)

        s = heads(q) @ heads(k).transpose(-2, -1) * 2.0**-self.shift
        s_scale = float((q.scale * k.scale).detach()) * 2.0**-self.shift if self.quant.enabled else None
        if self.rel_bias is not None:
            bias, bias_frac = self.bias()
            s = s + bias
            if self.quant.enabled:
                s_scale = min(s_scale, 2.0**-bias_frac)
        m = None if mask is None else mask.repeat(b // mask.shape[0], 1, 1)[:, None]
        if self.quant.enabled:
            p = int_ops.softmax(s.double(), s_scale, m).float()
        else:
            p = torch.softmax((s * math.log(2.0)).masked_fill(~m, float("-inf")) if m is not None
                              else s * math.log(2.0), -1)
        ctx = (p @ heads(v)).transpose(1, 2).reshape(b, n, d)
        return self.proj(self.ctx_act(ctx))

    def export(self, g, name: str, x: str, mask: torch.Tensor | None = None) -> str:
        q, k, v = (lin.export(g, f"{name}.{n}", x) for lin, n in ((self.q, "q"), (self.k, "k"), (self.v, "v")))
        arrays, attrs = {}, {"heads": self.heads}
        if self.rel_bias is not None:
            bias, frac = self.bias()
            arrays["bias"] = torch.round(bias.detach() * 2.0**frac).to(torch.int8).numpy()
            attrs["bias_frac"] = frac
        if mask is not None:
            arrays["mask"] = mask.numpy().astype("uint8")
        ctx = g.add("attention", f"{name}.core", [q, k, v], self.ctx_act.fmt(), arrays=arrays, **attrs)
        return self.proj.export(g, f"{name}.proj", ctx)


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(LN(x)), then x + MLP(LN(x)). Token-wise ops commute with windows."""

    def __init__(self, q: QuantConfig, dim: int, heads: int, mlp_dim: int, window: int | None = None):
        super().__init__()
        self.ln1, self.attn, self.add1 = LayerNorm(q, dim), Attention(q, dim, heads, window), ResidualAdd(q)
        self.ln2, self.mlp, self.add2 = LayerNorm(q, dim), MLP(q, dim, mlp_dim), ResidualAdd(q)

    def forward(self, x, mask=None, partition=None, reverse=None):
        h = self.ln1(x)
        if partition is not None:
            h = partition(h)
        h = self.attn(h, mask)
        if reverse is not None:
            h = reverse(h)
        x = self.add1(x, h)
        return self.add2(x, self.mlp(self.ln2(x)))

    def export(self, g, name: str, x: str, mask=None, partition=None, reverse=None) -> str:
        h = self.ln1.export(g, f"{name}.ln1", x)
        if partition is not None:
            h = partition(g, h)
        h = self.attn.export(g, f"{name}.attn", h, mask)
        if reverse is not None:
            h = reverse(g, h)
        x = self.add1.export(g, f"{name}.add1", x, h)
        h = self.mlp.export(g, f"{name}.mlp", self.ln2.export(g, f"{name}.ln2", x))
        return self.add2.export(g, f"{name}.add2", x, h)

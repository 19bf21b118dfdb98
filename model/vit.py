"""Tiny ViT: conv patch embedding (kernel = stride), learned position embedding, pre-LN blocks, mean pool."""

from __future__ import annotations

import torch
from torch import nn

from ..quant import int_ops
from ..quant.spec import PIXEL
from .config import ModelConfig
from .layers import Act, ConvAct, LayerNorm, LinearAct, Pool, QuantConfig, as_qt, map_values, val
from .transformer import Block


def pixels_in(img: torch.Tensor, q: QuantConfig):
    """Images on PIXEL's grid ([0, 1) in steps of 1/256) as the first layer's input."""
    return as_qt(img, PIXEL.scale, signed=False) if q.enabled else img


def tokens(x):
    """[B, D, h, w] feature map -> [B, h*w, D] tokens (QuantTensor grid kept)."""
    return map_values(x, lambda t: t.flatten(2).transpose(1, 2))


class ViT(nn.Module):
    def __init__(self, cfg: ModelConfig, q: QuantConfig):
        super().__init__()
        self.cfg, self.q = cfg, q
        n = (cfg.img_size // cfg.patch) ** 2
        self.embed = ConvAct(q, cfg.in_chans, cfg.dim, cfg.patch, stride=cfg.patch)
        self.pos = nn.Parameter(torch.zeros(1, n, cfg.dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.pos_act = Act(q)
        self.blocks = nn.ModuleList(Block(q, cfg.dim, cfg.heads, cfg.mlp_dim) for _ in range(cfg.depth))
        self.ln = LayerNorm(q, cfg.dim)
        self.pool = Pool(q, (1,))
        self.head = LinearAct(q, cfg.dim, cfg.num_classes, act=False)

    def position(self):
        return int_ops.quantize_param(self.pos) if self.q.enabled else (self.pos, None)

    def forward(self, img):
        x = tokens(self.embed(pixels_in(img, self.q)))
        x = self.pos_act(val(x) + self.position()[0])
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.pool(self.ln(x)))

    def export(self, g, x: str) -> str:
        x = self.embed.export(g, "patch_embed", x, op="patch_embed")
        pos, frac = self.position()
        x = g.add("residual_add", "pos_add", [x], self.pos_act.fmt(),
                  arrays={"const": torch.round(pos.detach()[0] * 2.0**frac).to(torch.int8).numpy()},
                  const_frac=frac)
        for i, blk in enumerate(self.blocks):
            x = blk.export(g, f"blocks.{i}", x)
        return self.head.export(g, "head", self.pool.export(g, "pool", self.ln.export(g, "ln", x)))

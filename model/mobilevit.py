"""Tiny MobileViT: conv stem, a MobileNetV2 inverted-residual block, a MobileViT block (local conv, unfold
into patches, transformer over patches, fold back, fuse with the input by concat + conv), pool, head."""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .layers import Act, ConvAct, LayerNorm, LinearAct, Pool, QuantConfig, map_values, val
from .transformer import Block
from .vit import pixels_in


def unfold(x, p: int):
    """[B, C, H, W] -> [B*p*p, N, C]: tokens at the same position inside each p x p patch attend together."""
    b, c, h, w = x.shape
    return x.view(b, c, h // p, p, w // p, p).permute(0, 3, 5, 2, 4, 1).reshape(b * p * p, (h // p) * (w // p), c)


def fold(x, p: int, h: int, w: int):
    """Inverse of unfold."""
    bp, _, c = x.shape
    return x.view(bp // (p * p), p, p, h // p, w // p, c).permute(0, 5, 3, 1, 4, 2).reshape(-1, c, h, w)


class MobileViT(nn.Module):
    def __init__(self, cfg: ModelConfig, q: QuantConfig):
        super().__init__()
        self.cfg, self.q = cfg, q
        c_stem, c_exp, c_blk, c_out = cfg.channels
        self.stem = ConvAct(q, cfg.in_chans, c_stem, 3, padding=1, relu=True)
        # MobileNetV2 inverted residual with stride 2 (no skip): expand 1x1, depthwise 3x3, project 1x1
        self.expand = ConvAct(q, c_stem, c_exp, 1, relu=True)
        self.dw = ConvAct(q, c_exp, c_exp, 3, stride=2, padding=1, groups=c_exp, relu=True)
        self.cat_act = Act(q)  # project and fold outputs share one grid so they can be concatenated
        self.project = ConvAct(q, c_exp, c_blk, 1, act=self.cat_act)
        # MobileViT block
        self.local = ConvAct(q, c_blk, c_blk, 3, padding=1, relu=True)
        self.to_tokens = ConvAct(q, c_blk, cfg.dim, 1)
        self.blocks = nn.ModuleList(Block(q, cfg.dim, cfg.heads, cfg.mlp_dim) for _ in range(cfg.depth))
        self.ln = LayerNorm(q, cfg.dim)
        self.from_tokens = ConvAct(q, cfg.dim, c_blk, 1, act=self.cat_act)
        self.fuse = ConvAct(q, 2 * c_blk, c_blk, 3, padding=1, relu=True)
        self.final = ConvAct(q, c_blk, c_out, 1, relu=True)
        self.pool = Pool(q, (2, 3))
        self.head = LinearAct(q, c_out, cfg.num_classes, act=False)

    def forward(self, img):
        x = self.project(self.dw(self.expand(self.stem(pixels_in(img, self.q)))))
        h, w = val(x).shape[-2:]
        t = map_values(self.to_tokens(self.local(x)), lambda v: unfold(v, self.cfg.patch))
        for blk in self.blocks:
            t = blk(t)
        y = self.from_tokens(map_values(self.ln(t), lambda v: fold(v, self.cfg.patch, h, w)))
        cat = map_values(x, lambda v: torch.cat([v, val(y)], 1))  # x and y share cat_act's grid
        return self.head(self.pool(self.final(self.fuse(cat))))

    def export(self, g, x: str) -> str:
        x = self.stem.export(g, "stem", x)
        x = self.project.export(g, "project", self.dw.export(g, "dw", self.expand.export(g, "expand", x)))
        h = w = self.cfg.img_size // 2
        t = self.to_tokens.export(g, "to_tokens", self.local.export(g, "local", x))
        t = g.add("unfold", "unfold", [t], g.fmt(t), patch=self.cfg.patch)
        for i, blk in enumerate(self.blocks):
            t = blk.export(g, f"blocks.{i}", t)
        t = self.ln.export(g, "ln", t)
        t = g.add("fold", "fold", [t], g.fmt(t), patch=self.cfg.patch, h=h, w=w)
        y = self.from_tokens.export(g, "from_tokens", t)
        cat = g.add("concat", "concat", [x, y], g.fmt(x), axis=1)
        y = self.final.export(g, "final", self.fuse.export(g, "fuse", cat))
        return self.head.export(g, "head", self.pool.export(g, "pool", y))

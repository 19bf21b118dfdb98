"""Swin-style tiny model: patch embedding, window attention with relative position bias, shifted windows
(torch.roll + attention mask) on every other block, mean pool."""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .layers import ConvAct, LayerNorm, LinearAct, Pool, QuantConfig, map_values
from .transformer import Block
from .vit import pixels_in, tokens


def shifted_window_mask(grid: int, window: int, shift: int) -> torch.Tensor:
    """[W, N, N] booleans: True where two tokens of a shifted window came from the same image region."""
    region = torch.zeros(grid, grid, dtype=torch.long)
    cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for hs in cuts:
        for ws in cuts:
            region[hs, ws] = label
            label += 1
    win = partition(region[None, :, :, None].flatten(1, 2), grid, window, 0)[..., 0]  # [W, N]
    return win[:, :, None] == win[:, None, :]


def partition(x: torch.Tensor, grid: int, window: int, shift: int) -> torch.Tensor:
    """[B, grid*grid, D] -> roll by -shift -> [B*W, window**2, D] (golden_kernels.window_partition)."""
    b, _, d = x.shape
    t = torch.roll(x.view(b, grid, grid, d), (-shift, -shift), (1, 2))
    g = grid // window
    return t.view(b, g, window, g, window, d).transpose(2, 3).reshape(b * g * g, window * window, d)


def reverse(x: torch.Tensor, grid: int, window: int, shift: int) -> torch.Tensor:
    """Inverse of partition (golden_kernels.window_reverse)."""
    g = grid // window
    d = x.shape[-1]
    b = x.shape[0] // (g * g)
    t = x.view(b, g, g, window, window, d).transpose(2, 3).reshape(b, grid, grid, d)
    return torch.roll(t, (shift, shift), (1, 2)).reshape(b, grid * grid, d)


class Swin(nn.Module):
    def __init__(self, cfg: ModelConfig, q: QuantConfig):
        super().__init__()
        self.cfg, self.q = cfg, q
        self.grid = cfg.img_size // cfg.patch
        if self.grid % cfg.window:
            raise ValueError(f"token grid {self.grid} is not a multiple of window {cfg.window}")
        self.embed = ConvAct(q, cfg.in_chans, cfg.dim, cfg.patch, stride=cfg.patch)
        self.blocks = nn.ModuleList(Block(q, cfg.dim, cfg.heads, cfg.mlp_dim, window=cfg.window)
                                    for _ in range(cfg.depth))
        self.shifts = [0 if i % 2 == 0 or self.grid == cfg.window else cfg.window // 2 for i in range(cfg.depth)]
        for i, s in enumerate(self.shifts):
            if s:
                self.register_buffer(f"mask{i}", shifted_window_mask(self.grid, cfg.window, s), persistent=False)
        self.ln = LayerNorm(q, cfg.dim)
        self.pool = Pool(q, (1,))
        self.head = LinearAct(q, cfg.dim, cfg.num_classes, act=False)

    def _windows(self, i):
        s, g, w = self.shifts[i], self.grid, self.cfg.window
        mask = getattr(self, f"mask{i}") if s else None
        return s, mask, (lambda x: map_values(x, lambda t: partition(t, g, w, s))), \
            (lambda x: map_values(x, lambda t: reverse(t, g, w, s)))

    def forward(self, img):
        x = tokens(self.embed(pixels_in(img, self.q)))
        for i, blk in enumerate(self.blocks):
            _, mask, part, rev = self._windows(i)
            x = blk(x, mask, part, rev)
        return self.head(self.pool(self.ln(x)))

    def export(self, g, x: str) -> str:
        x = self.embed.export(g, "patch_embed", x, op="patch_embed")
        geom = {"grid": self.grid, "window": self.cfg.window}
        for i, blk in enumerate(self.blocks):
            s, mask, _, _ = self._windows(i)
            x = blk.export(g, f"blocks.{i}", x, mask,
                           lambda g, h, i=i, s=s: g.add("window_partition", f"blocks.{i}.partition", [h],
                                                        g.fmt(h), shift=s, **geom),
                           lambda g, h, i=i, s=s: g.add("window_reverse", f"blocks.{i}.reverse", [h],
                                                        g.fmt(h), shift=s, **geom))
        return self.head.export(g, "head", self.pool.export(g, "pool", self.ln.export(g, "ln", x)))

"""Training augmentation for small grey digits: what the preprocessing (host/preprocess.py) leaves different
between a user's picture and a training image - framing off by a little, slant and rotation, pen width,
contrast, noise.

Works on batches [B, 1, H, W] of values on the PIXEL grid. Each image is upsampled `upsample` times (the
digits' 8x8 pixels are 4x4 block counts of 32x32 bitmaps: at 32x32 a stroke can be widened by a pixel), warped
by a random affine map (rotation, scale, aspect, shear, shift), its strokes widened or thinned by one pixel,
area-downsampled back, given a random gain and noise, and put back on the PIXEL grid (the quantized model's
first layer reads its input as integers).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..quant.spec import PIXEL


@dataclass(frozen=True)
class AugmentConfig:
    p: float = 0.8                  # share of images augmented (the rest pass unchanged)
    rotate: float = 12.0            # degrees, uniform in +-
    scale: tuple[float, float] = (0.85, 1.08)   # isotropic zoom (< 1: smaller digit, empty border)
    aspect: tuple[float, float] = (0.85, 1.3)   # x stretch: the digits are narrow (6 of 8 columns), pens not
    shear: float = 0.25             # slant, x += shear * y
    shift: float = 0.08             # translation, fraction of the side, uniform in +-
    stroke: float = 0.5             # share of augmented images with pen width changed (half wider, half thinner)
    gain: tuple[float, float] = (0.6, 1.4)   # contrast: ink multiplied, then clipped to the pixel range
    noise: float = 0.04             # Gaussian noise sigma up to this (fraction of the range)
    upsample: int = 4               # working resolution factor


def affine(n: int, ac: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """[n, 2, 3] sampling matrices for F.affine_grid (output -> input coordinates in [-1, 1])."""
    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    a = torch.deg2rad(u(-ac.rotate, ac.rotate))
    s = u(*ac.scale)
    sx, sy = s * u(*ac.aspect), s
    sh = u(-ac.shear, ac.shear)
    cos, sin = torch.cos(a), torch.sin(a)
    # forward map: rotate(scale(shear(p))) + t; affine_grid wants its inverse
    fwd = torch.zeros(n, 3, 3)
    fwd[:, 0, 0], fwd[:, 0, 1] = cos * sx, cos * sx * sh - sin * sy
    fwd[:, 1, 0], fwd[:, 1, 1] = sin * sx, sin * sx * sh + cos * sy
    fwd[:, 0, 2], fwd[:, 1, 2] = u(-2 * ac.shift, 2 * ac.shift), u(-2 * ac.shift, 2 * ac.shift)
    fwd[:, 2, 2] = 1.0
    return torch.linalg.inv(fwd)[:, :2]


def augment(x: torch.Tensor, ac: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Augmented copy of images x [B, C, H, W] (values on the PIXEL grid), again on the PIXEL grid."""
    b, _, h, w = x.shape
    k = ac.upsample
    big = F.interpolate(x, scale_factor=k, mode="nearest")  # blocks: identity when nothing else changes
    grid = F.affine_grid(affine(b, ac, gen), list(big.shape), align_corners=False)
    big = F.grid_sample(big, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    r = torch.rand(b, generator=gen)[:, None, None, None]
    wider = F.max_pool2d(big, 3, 1, 1)
    thinner = -F.max_pool2d(-big, 3, 1, 1)
    big = torch.where(r < ac.stroke / 2, wider, torch.where(r < ac.stroke, thinner, big))
    y = F.avg_pool2d(big, k)
    gain = ac.gain[0] + (ac.gain[1] - ac.gain[0]) * torch.rand(b, 1, 1, 1, generator=gen)
    sigma = ac.noise * torch.rand(b, 1, 1, 1, generator=gen)
    y = y * gain + sigma * torch.randn(y.shape, generator=gen)
    y = torch.clamp(torch.round(y / PIXEL.scale), 0, PIXEL.max) * PIXEL.scale
    keep = (torch.rand(b, generator=gen) >= ac.p)[:, None, None, None]
    return torch.where(keep, x, y)

"""Training augmentation: outputs on the PIXEL grid, deterministic per generator, the clean share untouched,
and the changes it exists for (position, pen width, contrast) actually made."""

import torch

from vitflow.model.augment import AugmentConfig, augment
from vitflow.model.datasets import digits
from vitflow.model.train import to_float
from vitflow.quant.spec import PIXEL


def batch(n=256):
    return to_float(digits().x_train[:n])


def test_on_the_pixel_grid_and_deterministic():
    x = batch()
    y = augment(x, AugmentConfig(), torch.Generator().manual_seed(0))
    q = y / PIXEL.scale
    assert y.shape == x.shape and torch.equal(q, torch.round(q)) and q.min() >= 0 and q.max() <= PIXEL.max
    assert torch.equal(y, augment(x, AugmentConfig(), torch.Generator().manual_seed(0)))


def test_share_left_clean():
    x = batch()
    y = augment(x, AugmentConfig(p=0.5), torch.Generator().manual_seed(1))
    same = (y == x).flatten(1).all(1).float().mean()
    assert 0.35 < same < 0.65
    assert torch.equal(augment(x, AugmentConfig(p=0.0), torch.Generator()), x)


def test_changes_position_width_and_contrast():
    x = batch()
    off = AugmentConfig(p=1.0, rotate=0, scale=(1, 1), aspect=(1, 1), shear=0, shift=0, stroke=0, gain=(1, 1), noise=0)
    gen = torch.Generator().manual_seed(2)
    base = augment(x, off, gen)  # only the up- / downsampling: the input itself
    assert (base - x).abs().max() < 1e-6
    wider = augment(x, AugmentConfig(**{**off.__dict__, "stroke": 2.0}), gen)  # r < stroke / 2: all wider
    assert wider.sum() > 1.2 * base.sum()
    shifted = augment(x, AugmentConfig(**{**off.__dict__, "shift": 0.2}), gen)
    assert (shifted - base).abs().mean() > 0.05
    dim = augment(x, AugmentConfig(**{**off.__dict__, "gain": (0.5, 0.5)}), gen)
    assert abs(dim.sum() / base.sum() - 0.5) < 0.02

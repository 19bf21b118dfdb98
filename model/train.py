"""Training: float pre-training, then Brevitas quantization-aware fine-tuning of the same network, both on
augmented digits (model/augment.py) so that the model also reads pictures that are not from the data set.

Checkpoints hold the config and both state dicts; they are written atomically.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..quant.model_file import write_atomic
from ..quant.spec import PIXEL
from . import build_model
from .augment import AugmentConfig, augment
from .config import ModelConfig
from .datasets import DataError, Dataset

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class TrainConfig:
    float_epochs: int = 150
    qat_epochs: int = 40
    batch: int = 64
    lr: float = 3e-3
    qat_lr: float = 5e-4
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    max_shift: int = 1          # random translation in pixels (zero fill), keeps pixels on the grid
    augment: bool = True        # model/augment.py (shift, scale, rotation, slant, pen width, contrast, noise);
    # False: max_shift only (the models shipped before; 85 % vs 93 % on the strokes pictures for vit)
    seed: int = 0
    pictures: int = 0           # rendered pictures per digit added to the training set (host/synthetic.py)
    outliers: int = 0           # rendered non-digits for outlier exposure (their target: uniform probabilities)
    outlier_weight: float = 0.5


def to_float(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.astype(np.float32) * PIXEL.scale)


def random_shift(x: torch.Tensor, s: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to s pixels in each direction, zero fill."""
    if s == 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (s, s, s, s))
    dy, dx = (torch.randint(0, 2 * s + 1, (b,), generator=gen) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(b, x.shape[1], h, w + 2 * s)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(b, x.shape[1], h, w)
    return out.gather(3, cols)


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    model.eval()
    with torch.no_grad():
        pred = np.concatenate([model(to_float(x[i:i + batch])).argmax(1).numpy() for i in range(0, len(x), batch)])
    return float((pred == y).mean())


def fit(model, data: Dataset, epochs: int, lr: float, tc: TrainConfig, desc: str, progress: bool = True,
        outliers: np.ndarray | None = None):
    """AdamW with warmup + cosine decay, label smoothing, random shifts or the full augmentation; with
    `outliers`, each batch also takes a quarter batch of them, their loss the cross-entropy to the uniform
    distribution (outlier exposure: Hendrycks et al., 2019) weighted by tc.outlier_weight."""
    gen = torch.Generator().manual_seed(tc.seed)
    ac = AugmentConfig()
    x, y = to_float(data.x_train), torch.from_numpy(data.y_train)
    out = to_float(outliers) if outliers is not None and len(outliers) else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=tc.weight_decay)
    steps = epochs * math.ceil(len(x) / tc.batch)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for _ in bar:
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), tc.batch):
            idx = perm[i:i + tc.batch]
            xb = augment(x[idx], ac, gen) if tc.augment else random_shift(x[idx], tc.max_shift, gen)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=tc.label_smoothing)
            if out is not None:
                ob = out[torch.randint(len(out), (max(1, tc.batch // 4),), generator=gen)]
                ob = augment(ob, ac, gen) if tc.augment else ob
                loss = loss - tc.outlier_weight * F.log_softmax(model(ob), 1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return model


def train(cfg: ModelConfig, data: Dataset, tc: TrainConfig, progress: bool = True,
          outliers: np.ndarray | None = None):
    """Float model, then QAT from its weights (`outliers`: see fit). Returns (float_model, quant_model,
    metrics)."""
    if len(data.x_train) == 0:
        raise DataError(f"data set {data.name} has no training images (test pictures only): train on digits")
    torch.manual_seed(tc.seed)
    fmodel = fit(build_model(cfg, quant=False), data, tc.float_epochs, tc.lr, tc, f"{cfg.arch} float", progress,
                 outliers)
    qmodel = build_model(cfg, quant=True)
    qmodel.load_state_dict(fmodel.state_dict(), strict=False)
    fit(qmodel, data, tc.qat_epochs, tc.qat_lr, tc, f"{cfg.arch} QAT", progress, outliers)
    metrics = {"float_accuracy": accuracy(fmodel, data.x_test, data.y_test),
               "quant_accuracy": accuracy(qmodel, data.x_test, data.y_test)}
    return fmodel, qmodel, metrics


def save_checkpoint(path: Path, cfg: ModelConfig, fmodel, qmodel, meta: dict) -> None:
    buf = io.BytesIO()
    torch.save({"version": CHECKPOINT_VERSION, "config": cfg.to_json(), "float_state": fmodel.state_dict(),
                "quant_state": qmodel.state_dict(), "meta": meta}, buf)
    write_atomic(Path(path), lambda f: f.write(buf.getvalue()))


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says what to do."""


def load_checkpoint(path: Path, quant: bool):
    """(config, model in eval mode, meta) from a checkpoint; `quant` picks the Brevitas or the float model."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found: train one with `vitflow train`")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        version, cfg = ck["version"], ModelConfig.from_json(ck["config"])
    except Exception as e:
        raise CheckpointError(f"{path} is not a readable vitflow checkpoint ({type(e).__name__})") from None
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} is checkpoint version {version}, this vitflow reads {CHECKPOINT_VERSION}: "
                              "retrain with `vitflow train`")
    model = build_model(cfg, quant)
    try:
        model.load_state_dict(ck["quant_state" if quant else "float_state"])
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit its own config ({str(e).splitlines()[0]})") from None
    model.eval()
    return cfg, model, ck.get("meta", {})

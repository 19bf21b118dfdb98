"""Export a trained quantized model: to the integer model file (the spec every later stage reads) and QONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .model_file import GraphBuilder, IntModel, write_atomic
from .spec import PIXEL


def export_int_model(model: torch.nn.Module, meta: dict | None = None) -> IntModel:
    """Walk the quantized model (eval mode: power-of-two scales) and write its op list and integers."""
    model.eval()
    cfg = model.cfg
    g = GraphBuilder("image", [cfg.in_chans, cfg.img_size, cfg.img_size], PIXEL)
    with torch.no_grad():
        out = model.export(g, "image")
    return g.build(cfg.arch, cfg.to_json(), out, meta)


def brevitas_int_logits(model: torch.nn.Module, images: np.ndarray, logits_frac: int,
                        batch: int = 512) -> np.ndarray:
    """The quantized torch model's logits as integers on the head's accumulator grid."""
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i:i + batch].astype(np.float32) * PIXEL.scale)
            outs.append(torch.round(model(x).double() * 2.0**logits_frac).long().numpy())
    return np.concatenate(outs)


def export_qonnx(model: torch.nn.Module, path: Path) -> Path:
    """Brevitas QONNX export, then qonnx's own load + cleanup (shape inference, constant folding)."""
    from brevitas.export import export_qonnx as brevitas_export
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    model.eval()
    cfg = model.cfg
    x = torch.rand(1, cfg.in_chans, cfg.img_size, cfg.img_size)
    path = Path(path)
    tmp = path.with_suffix(".raw.onnx")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        brevitas_export(model, x, export_path=str(tmp), dynamo=False)
        cleaned = cleanup_model(ModelWrapper(str(tmp)))
        write_atomic(path, lambda f: f.write(cleaned.model.SerializeToString()))
    finally:
        tmp.unlink(missing_ok=True)
    return path

"""Export a trained quantized model: to the integer model file (the spec every later stage reads) and QONNX."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import torch

from . import int_ops
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


def forward_value(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """int_ops.ste without its gradient path: `surrogate - surrogate.detach()` is 0 in the forward pass, but
    traced it puts the float LayerNorm / softmax / GELU and a Sub(x, x) into the graph."""
    return value.to(surrogate.dtype)


def squares_as_pow(graph) -> None:
    """Mul(x, x) -> Pow(x, 2), and no node left that reads one tensor twice.

    qonnx 1.0.0's ModelWrapper.rename_tensor renames only the first occurrence of a name in a node's inputs, so
    after cleanup's GiveReadableTensorNames the second input of Mul(x, x) (the integer LayerNorm's squares)
    names a tensor nothing produces: unshaped, and execute_onnx refuses the model. Pow is exact on these
    integers (ONNX Runtime squares by multiplication)."""
    from onnx import helper, numpy_helper

    for node in graph.node:
        if node.op_type == "Mul" and len(node.input) == 2 and node.input[0] == node.input[1]:
            two = node.name + "_exponent"
            graph.initializer.append(numpy_helper.from_array(np.array(2, np.int64), two))
            node.CopyFrom(helper.make_node("Pow", [node.input[0], two], list(node.output), name=node.name))
        if len(set(node.input)) != len(node.input):
            raise ValueError(f"QONNX export: node {node.name} ({node.op_type}) reads one tensor twice; qonnx's "
                             "tensor renaming would leave it dangling")


def export_qonnx(model: torch.nn.Module, path: Path, batch: int = 1) -> Path:
    """Brevitas QONNX export of the integer graph for `batch` images (shapes are static in QONNX), then qonnx's
    own cleanup; every tensor is shaped and execute_onnx gives the golden model's logits (test_export.py)."""
    import onnx
    from brevitas.export import export_qonnx as brevitas_export
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    model.eval()
    cfg = model.cfg
    x = torch.rand(batch, cfg.in_chans, cfg.img_size, cfg.img_size)
    path = Path(path)
    tmp = path.with_suffix(".raw.onnx")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with torch.no_grad(), mock.patch.object(int_ops, "ste", forward_value):
            brevitas_export(model, x, export_path=str(tmp), dynamo=False)
        raw = onnx.load(str(tmp))
        squares_as_pow(raw.graph)
        cleaned = cleanup_model(ModelWrapper(raw))
        if not cleaned.check_all_tensor_shapes_specified():
            raise ValueError("QONNX export: tensors without a shape after qonnx cleanup")
        write_atomic(path, lambda f: f.write(cleaned.model.SerializeToString()))
    finally:
        tmp.unlink(missing_ok=True)
    return path


def qonnx_int_logits(path: Path, images: np.ndarray, logits_frac: int) -> np.ndarray:
    """Logits of an exported QONNX model run by qonnx's own executor (execute_onnx, in batches of the graph's
    static batch size), as integers on the head's accumulator grid like the golden model's."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    m = ModelWrapper(str(path))
    name, out = m.graph.input[0].name, m.graph.output[0].name
    batch = m.get_tensor_shape(name)[0]
    if len(images) % batch:
        raise ValueError(f"{path} takes batches of {batch} images, got {len(images)}")
    x = images.astype(np.float32) * np.float32(PIXEL.scale)
    rows = [execute_onnx(m, {name: x[i:i + batch]})[out] for i in range(0, len(x), batch)]
    return np.round(np.concatenate(rows).astype(np.float64) * 2.0**logits_frac).astype(np.int64)

"""The golden model: executes an integer model file with the NumPy kernels of golden_kernels. No torch."""

from __future__ import annotations

import numpy as np

from . import golden_kernels as K
from .model_file import IntModel, Op


def run_op(m: IntModel, op: Op, x: list[np.ndarray], fmts) -> np.ndarray:
    a, f_in, out = op.attrs, fmts[op.inputs[0]].frac, op.out
    arr = lambda role: m.array(op, role)  # noqa: E731
    match op.op:
        case "patch_embed":
            return K.patch_embed(x[0], f_in, arr("weight"), a["w_frac"], arr("bias"), out)
        case "conv":
            return K.conv2d(x[0], f_in, arr("weight"), a["w_frac"], arr("bias"), out,
                            a["stride"], a["padding"], a["groups"])
        case "linear":
            return K.linear(x[0], f_in, arr("weight"), a["w_frac"], arr("bias"), None if a.get("raw") else out)
        case "layernorm":
            return K.layernorm(x[0])
        case "attention":
            q, k, v = x
            mask = arr("mask")
            return K.attention(q, k, v, f_in, fmts[op.inputs[1]].frac, fmts[op.inputs[2]].frac, a["heads"],
                               out, arr("bias"), a.get("bias_frac", 0), None if mask is None else mask != 0)
        case "gelu":
            return K.gelu(x[0], arr("lut"), fmts[op.inputs[0]])
        case "residual_add":
            if len(x) == 2:
                return K.residual_add(x[0], f_in, x[1], fmts[op.inputs[1]].frac, out)
            return K.residual_add(x[0], f_in, arr("const")[None], a["const_frac"], out)
        case "pool":
            return K.pool(x[0], f_in, out, tuple(a["axes"]))
        case "concat":
            return K.concat(x, a["axis"])
        case "unfold":
            return K.unfold(x[0], a["patch"])
        case "fold":
            return K.fold(x[0], a["patch"], a["h"], a["w"])
        case "window_partition":
            return K.window_partition(x[0], a["grid"], a["window"], a["shift"])
        case "window_reverse":
            return K.window_reverse(x[0], a["grid"], a["window"], a["shift"])
    raise ValueError(f"unknown op {op.op}")


def run(m: IntModel, images: np.ndarray, keep: bool = False):
    """Integer logits [B, classes] for uint8 images [B, C, H, W]; with keep=True, every tensor by name."""
    images = np.asarray(images)
    if images.ndim != 4 or list(images.shape[1:]) != m.input_shape:
        raise ValueError(f"images of shape {images.shape[1:]} do not match the model input {m.input_shape}")
    fmts = m.formats()
    env = {m.input_name: images.astype(np.int64)}
    for op in m.ops:
        env[op.name] = run_op(m, op, [env[i] for i in op.inputs], fmts)
    return env if keep else env[m.output]


def tensor_shapes(m: IntModel) -> dict[str, tuple[int, ...]]:
    """Per-image shape of every tensor, from a golden run on two blank images. Window- and patch-batched
    tensors (golden [B*W, n, D]) get W as their leading dimension: (W, n, D); see hls.graph.windowed."""
    env = run(m, np.zeros((2, *m.input_shape), np.uint8), keep=True)
    return {k: (v.shape[1:] if v.shape[0] == 2 else (v.shape[0] // 2, *v.shape[1:])) for k, v in env.items()}

"""Model file -> hls4ml graph: stock Conv2D/Dense for patch embedding and linear layers, VitflowKernel custom
layers for the rest. Every precision, constant and table comes from the model file and quant.spec.

Layouts: feature maps (the image, conv/concat/fold outputs; golden [C, H, W]) are channels-last [H, W, C]
in HLS, as hls4ml's convolutions want; every other tensor has the golden model's layout (tokens [N, D],
windows [W, n, D], pooled [D]) flattened row-major.
"""

from __future__ import annotations

import numpy as np

from ..quant import spec
from ..quant.model_file import IntModel, Op
from ..quant.ops import OPS, named
from ..quant.spec import PROB


class HLSConversionError(ValueError):
    """An op the HLS flow cannot convert; the message names the layer."""


def cname(name: str) -> str:
    """A C++ identifier for a model-file tensor name (no layer may be called `input`)."""
    n = name.replace(".", "_")
    return "image_in" if n == "input" else n


def acc_type(frac: int) -> str:
    return f"ap_fixed<{spec.ACC_BITS},{spec.ACC_BITS - frac}>"


MAP_OPS = named("feature_map")  # channels-last in HLS


def is_map(m: IntModel, tensor: str) -> bool:
    """Whether a tensor is a feature map (channels-last in HLS)."""
    return tensor == m.input_name or any(op.name == tensor and op.op in MAP_OPS for op in m.ops)


def hls_shape(m: IntModel, shapes, tensor: str) -> list[int]:
    shape = list(shapes[tensor])
    return shape[1:] + shape[:1] if is_map(m, tensor) else shape


def to_golden(x: np.ndarray, windowed: bool) -> np.ndarray:
    """Images-first [B, *shape] -> the golden model's layout, where windows are folded into the batch."""
    return x.reshape(-1, *x.shape[2:]) if windowed else x


def _weighted(m: IntModel, op: Op, fmts, shapes, name: str):
    w, b, wf = m.array(op, "weight"), m.array(op, "bias"), op.attrs["w_frac"]
    in_frac = fmts[op.inputs[0]].frac
    wbits = int(m.config.get("weight_bits", 8))
    prec = {"weight": f"ap_fixed<{wbits},{wbits - wf}>", "bias": acc_type(in_frac + wf),
            "accum": acc_type(in_frac + wf), "result": op.out.hls_type()}
    bias = b.astype(np.float64) * 2.0 ** -(in_frac + wf)
    if op.op == "linear":
        layer = {"class_name": "Dense", "n_in": w.shape[1], "n_out": w.shape[0],
                 "weight_data": w.T.astype(np.float64) * 2.0**-wf, "bias_data": bias}
    else:  # patch_embed (kernel = stride) and conv, channels-last
        c, h, wd = shapes[op.inputs[0]]
        k = w.shape[-1]
        stride, pad, groups = (op.attrs["stride"], op.attrs["padding"], op.attrs["groups"]) if op.op == "conv" \
            else (k, 0, 1)
        layer = {"class_name": "Conv2D", "data_format": "channels_last", "in_height": h, "in_width": wd,
                 "n_chan": c, "out_height": (h + 2 * pad - k) // stride + 1,
                 "out_width": (wd + 2 * pad - k) // stride + 1,
                 "n_filt": w.shape[0], "filt_height": k, "filt_width": k, "stride_height": stride,
                 "stride_width": stride, "dilation": 1, "pad_top": pad, "pad_bottom": pad, "pad_left": pad,
                 "pad_right": pad, "weight_data": w.transpose(2, 3, 1, 0).astype(np.float64) * 2.0**-wf,
                 "bias_data": bias}
        if groups == c == w.shape[0]:  # depthwise: weights [C, 1, k, k] -> (k, k, C, 1)
            layer.update(class_name="DepthwiseConv2D", depth_multiplier=1, depthwise_data=layer.pop("weight_data"))
        elif groups != 1:
            raise HLSConversionError(f"layer {op.name}: grouped conv with {groups} groups has no HLS mapping")
    return layer, prec


def _out(op: Op) -> dict:
    return {"out_frac": op.out.frac, "out_min": op.out.min, "out_max": op.out.max}


def _layernorm(m: IntModel, op: Op, fmts, shapes):
    src = shapes[op.inputs[0]]
    return "layernorm", {"n_tokens": int(np.prod(src[:-1])), "dim": src[-1],
                         "in_signed": fmts[op.inputs[0]].signed, **_out(op)}, {}


def _gelu(m: IntModel, op: Op, fmts, shapes):
    lut = m.array(op, "lut")
    consts = {"n_in": int(np.prod(shapes[op.name])), "table_size": len(lut), "in_min": fmts[op.inputs[0]].min}
    return "gelu", consts, {"table": lut}


def _residual_add(m: IntModel, op: Op, fmts, shapes):
    c = {"n_in": int(np.prod(shapes[op.name])), "a_frac": fmts[op.inputs[0]].frac, **_out(op)}
    if len(op.inputs) == 2:
        return "residual_add", {**c, "b_frac": fmts[op.inputs[1]].frac}, {}
    return "residual_add_const", {**c, "b_frac": op.attrs["const_frac"]}, {"const": m.array(op, "const").ravel()}


def _pool(m: IntModel, op: Op, fmts, shapes):
    """tokens [N, D] over N, or a channels-last map [H, W, C] over H*W."""
    src, axes, fin = hls_shape(m, shapes, op.inputs[0]), tuple(op.attrs["axes"]), fmts[op.inputs[0]]
    n, d = int(np.prod(src[:-1])), src[-1]
    if axes not in ((1,), (2, 3)) or len(src) != len(axes) + 1:
        raise HLSConversionError(f"layer {op.name}: pool over axes {axes} has no HLS kernel")
    return "pool", {"n_tokens": n, "dim": d, "in_signed": fin.signed, "in_frac": fin.frac,
                    "log2_count": spec.log2_exact(n, "pooled count"), **_out(op)}, {}


def _attention(m: IntModel, op: Op, fmts, shapes):
    a, fin = op.attrs, [fmts[i] for i in op.inputs]
    w, n, d = shapes[op.inputs[0]] if len(shapes[op.inputs[0]]) == 3 else (1, *shapes[op.inputs[0]])
    bias, mask = m.array(op, "bias"), m.array(op, "mask")
    consts = {"n_windows": w, "n_tokens": n, "dim": d, "heads": a["heads"], "q_frac": fin[0].frac,
              "k_frac": fin[1].frac, "v_frac": fin[2].frac,
              "score_shift": spec.attention_score_shift(d // a["heads"]), "bias_frac": a.get("bias_frac", 0),
              "has_bias": bias is not None, "has_mask": mask is not None,
              "mask_windows": 1 if mask is None else mask.shape[0],
              "exp_in_frac": spec.SOFTMAX_EXP_IN_FRAC, "exp_lut_frac": spec.SOFTMAX_EXP_LUT_FRAC,
              "recip_bits": spec.SOFTMAX_RECIP_BITS, "min_shift": spec.SOFTMAX_MIN_SHIFT,
              "prob_frac": PROB.frac, "prob_max": PROB.max, **_out(op)}
    tables = {"exp_lut": spec.exp2_lut(),
              "bias": np.zeros(1, np.int64) if bias is None else bias.ravel(),
              "mask": np.zeros(1, np.int64) if mask is None else mask.ravel()}
    return "attention", consts, tables


def _patches(m: IntModel, op: Op, fmts, shapes):
    c, h, w = shapes[op.inputs[0]] if op.op == "unfold" else shapes[op.name]
    return op.op, {"height": h, "width": w, "channels": c, "patch": op.attrs["patch"]}, {}


def _windows(m: IntModel, op: Op, fmts, shapes):
    a = op.attrs
    return op.op, {"dim": shapes[op.name][-1], "grid": a["grid"], "window": a["window"], "shift": a["shift"]}, {}


# (kernel name, consts, tables) of each op that the table of ops maps to a VitflowKernel layer
VITFLOW_KERNELS = {"layernorm": _layernorm, "gelu": _gelu, "residual_add": _residual_add, "pool": _pool,
                   "attention": _attention, "unfold": _patches, "fold": _patches,
                   "window_partition": _windows, "window_reverse": _windows}


def _concat(m: IntModel, op: Op, fmts, shapes, name: str):
    """stock hls4ml Concatenate along channels (last axis); equal formats."""
    if op.attrs["axis"] != 1:
        raise HLSConversionError(f"layer {op.name}: concat along axis {op.attrs['axis']} has no HLS mapping")
    return {"class_name": "Concatenate", "op": "concatenate3d", "axis": -1}, {"result": op.out.hls_type()}


def _vitflow_kernel(m: IntModel, op: Op, fmts, shapes, name: str):
    if op.op not in VITFLOW_KERNELS:
        raise HLSConversionError(f"layer {op.name}: op '{op.op}' has no HLS kernel")
    kernel, consts, tables = VITFLOW_KERNELS[op.op](m, op, fmts, shapes)
    layer = {"class_name": "VitflowKernel", "kernel": kernel, "consts": consts, "tables": tables,
             "out_shape": hls_shape(m, shapes, op.name)}
    return layer, {"result": op.out.hls_type()}


# the hls4ml layer of each class the table of ops names: (layer dict, precision config)
LAYERS = {"Dense": _weighted, "Conv2D": _weighted, "Concatenate": _concat, "VitflowKernel": _vitflow_kernel}


def hls_layers(m: IntModel, ops: list[Op], inputs: list[str], shapes: dict[str, tuple[int, ...]]):
    """hls4ml layer dicts and per-layer precision config for `ops`, fed by Input layers named `inputs`."""
    fmts = m.formats()
    layers, cfg = [], {}
    for t in inputs:
        layers.append({"class_name": "Input", "name": cname(t), "input_shape": hls_shape(m, shapes, t)})
        cfg[cname(t)] = {"Precision": {"result": fmts[t].hls_type()}}
    for op in ops:
        name = cname(op.name)
        layer, prec = LAYERS[OPS[op.op].hls](m, op, fmts, shapes, name)
        layer.update(name=name, inputs=[cname(i) for i in op.inputs])
        layers.append(layer)
        cfg[name] = {"Precision": prec}
    return layers, cfg

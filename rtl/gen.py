"""Writes what the Verilog kernels read from the model file: ROM images ($readmemh) and parameter sets.

Nothing numeric is typed into the RTL: widths, shifts, saturation bounds and memories come from here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..quant import spec
from ..quant.golden import run_op, tensor_shapes
from ..quant.model_file import IntModel, Op, write_text_atomic
from ..quant.ops import OPS
from . import layout
from .plan import BUS_BITS, COPYABLE, Engine, Parallel, Plan, fewest_copies, mul_split


def verilog_literal(v) -> str:
    """A Verilog parameter value: strings as given, negative integers as signed 32-bit hex (exact for -2**31;
    Yosys' chparam cannot parse a negative decimal literal)."""
    if isinstance(v, str):
        return v
    return str(int(v)) if int(v) >= 0 else f"32'sh{int(v) & 0xFFFFFFFF:08x}"


def hex_words(values: np.ndarray, bits: int) -> list[str]:
    """Two's-complement hex words of `bits` bits."""
    mask = (1 << bits) - 1
    return [f"{int(v) & mask:0{(bits + 3) // 4}x}" for v in np.asarray(values, np.int64).ravel()]


def pack_lanes(rows: np.ndarray, bits: int) -> list[str]:
    """One word per row, element 0 in the least significant bits."""
    mask = (1 << bits) - 1
    words = []
    for row in np.asarray(rows, np.int64):
        w = 0
        for lane, v in enumerate(row):
            w |= (int(v) & mask) << (lane * bits)
        words.append(f"{w:0{(len(row) * bits + 3) // 4}x}")
    return words


def linear_params(m: IntModel, op: Op, lanes: Parallel | int, out_dir: Path,
                  weight: np.ndarray | None = None, packing: str = "wide") -> dict:
    """Parameters and ROM files of rtl/linear.v for one linear op of the model file (or another op given as
    its [N_OUT, N_IN] `weight`: a 1x1 conv). A raw linear (the classifier head) passes its accumulator through:
    32-bit output, no shift."""
    if op.op != "linear" and weight is None:
        raise ValueError(f"{op.name}: not a linear layer")
    fin = m.formats()[op.inputs[0]]
    w = m.array(op, "weight") if weight is None else weight
    return {**_projection(m, op, w, fin, lanes, out_dir, packing=packing),
            "IN_BITS": fin.bits, "IN_SIGNED": int(fin.signed)}


def patch_embed_params(m: IntModel, op: Op, lanes: Parallel | int, out_dir: Path, pix_per_beat: int,
                       packing: str = "wide") -> dict:
    """Parameters and ROM files of rtl/patch_embed.v: the image geometry and its projection."""
    w = m.array(op, "weight")  # [O, C, P, P]; patch vectors in (c, kh, kw) order, as this reshape
    c, h, wd = m.input_shape
    fin = m.formats()[op.inputs[0]]
    if fin.signed:
        raise ValueError(f"{op.name}: rtl/patch_embed.v takes unsigned pixels")
    proj = _projection(m, op, w.reshape(w.shape[0], -1), fin, lanes, out_dir, packing=packing)
    del proj["N_IN"]  # C*P*P, derived inside
    return {"C": c, "H": h, "W": wd, "P": w.shape[-1], "PIX_BITS": fin.bits, "PIX_PER_BEAT": pix_per_beat, **proj}


def conv_params(m: IntModel, op: Op, plan: Plan, out_dir: Path) -> dict:
    """Parameters and ROM files of rtl/conv.v for a conv op: the input geometry and the projection of its
    im2col vectors, weights in the gather's (kh, kw, c) order. Groups 1, or depthwise (groups = input channels
    = output channels: the linear's DEPTHWISE mode, N_IN = the K*K taps)."""
    if op.op != "conv":
        raise ValueError(f"{op.name}: not a conv layer")
    w = m.array(op, "weight")  # [O, C/groups, K, K]
    n_out, _, k, kw = w.shape
    shapes = tensor_shapes(m)
    c_in, h, wd = shapes[op.inputs[0]]
    stride, pad, groups = op.attrs["stride"], op.attrs["padding"], op.attrs["groups"]
    depthwise = groups > 1 and groups == c_in == n_out
    if groups != 1 and not depthwise:
        raise ValueError(f"{op.name}: {groups} groups; rtl/conv.v runs groups = 1 or depthwise (groups = "
                         f"input channels = output channels)")
    if k != kw or not 0 <= pad < k:
        raise ValueError(f"{op.name}: rtl/conv.v takes square kernels with padding below the kernel size")
    # im2col rows: tap-major (kh, kw), then the channel (a tap is one pixel word of the frame buffer)
    rows = w.reshape(n_out, k * k) if depthwise else w.transpose(0, 2, 3, 1).reshape(n_out, -1)
    lanes = plan.lanes_for(op, engine_shape(m, op))
    fin = m.formats()[op.inputs[0]]
    proj = _projection(m, op, rows, fin, lanes, out_dir, depthwise=depthwise, packing=plan.packing)
    del proj["N_IN"]  # K*K*C_IN, or K*K taps when depthwise: derived inside
    return {"H": h, "W": wd, "C_IN": c_in, "K": k, "STRIDE": stride, "PAD": pad, "IN_BITS": fin.bits,
            "IN_SIGNED": int(fin.signed), **proj}


def const_stream_params(m: IntModel, op: Op, out_dir: Path) -> dict:
    """Parameters and ROM of rtl/const_stream.v: the constant operand of a residual_add (position
    embedding), one token per beat."""
    const = m.array(op, "const")
    bits = m.formats()[op.inputs[0]].bits
    out_dir.mkdir(parents=True, exist_ok=True)
    rom = out_dir / f"{op.name.replace('.', '_')}.const.hex"
    write_text_atomic(rom, "\n".join(pack_lanes(const.reshape(const.shape[0], -1), bits)) + "\n")
    return {"WIDTH": const[0].size * bits, "TOKENS": const.shape[0], "ROM_FILE": f'"{rom.resolve()}"'}


def _projection(m: IntModel, op: Op, w: np.ndarray, fin, lanes: Parallel | int, out_dir: Path,
                depthwise: bool = False, packing: str = "wide") -> dict:
    """Weight/bias ROMs and parameters of rtl/linear.v computing W [n_out, n_in] with `lanes` (a Parallel, or
    a lane count at SIMD 1); `depthwise`: n_in taps per channel, each output over its own input channel
    (SIMD 1); `packing`: how lane pairs are built (mul_split, Plan.packing). Requantized layers get
    the narrowest accumulator that cannot overflow for any input (the adders and the rounding stage of every
    lane shrink with it); a raw layer passes spec.ACC_BITS out. SIMD, DEPTHWISE and MUL_SPLIT are left out
    where they have rtl/linear.v's default (1, 0, 0), so that a kernel embedding the engine (patch_embed)
    declares only what it uses."""
    lanes, simd = Parallel(*lanes) if isinstance(lanes, tuple) else Parallel(lanes)
    b = m.array(op, "bias")
    n_out, n_in = w.shape
    if not (1 <= lanes <= n_out and 1 <= simd <= n_in) or (depthwise and simd != 1):
        raise ValueError(f"{op.name}: {lanes} lanes x SIMD {simd} for {n_out} outputs over {n_in} inputs "
                         f"(lanes 1..{n_out}, SIMD 1..{n_in}, depthwise SIMD 1)")
    wbits = int(m.config.get("weight_bits", 8))
    shift = fin.frac + op.attrs["w_frac"] - op.out.frac
    if shift < 0 or (op.attrs.get("raw") and (shift, op.out.bits) != (0, spec.ACC_BITS)):
        raise ValueError(f"{op.name}: output grid finer than the accumulator's (shift {shift})")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = op.name.replace(".", "_")
    wfile, bfile = out_dir / f"{stem}.weight.hex", out_dir / f"{stem}.bias.hex"
    # zero weights and bias pad W to whole groups of lanes and whole steps of simd inputs; word (group g,
    # step s) holds W[g*lanes + l, s*simd + j] at position j*lanes + l (lane 0 of input 0 in the LSBs)
    groups, steps = -(-n_out // lanes), -(-n_in // simd)
    wp = np.zeros((groups * lanes, steps * simd), np.int64)
    wp[:n_out, :n_in] = w
    rows = wp.reshape(groups, lanes, steps, simd).transpose(0, 2, 3, 1).reshape(groups * steps, simd * lanes)
    weights = "\n".join(pack_lanes(rows, wbits)) + "\n"
    write_text_atomic(wfile, weights)  # a simulation may be reading the previous one
    acc_bits = spec.ACC_BITS
    if not op.attrs.get("raw"):
        need = spec.accumulator_bits(max(abs(fin.min), abs(fin.max)), np.abs(w).sum(1), np.abs(b))
        acc_bits = min(spec.ACC_BITS, max(need, op.out.bits + 1))
    bp = np.zeros(groups * lanes, np.int64)
    bp[:n_out] = b
    biases = "\n".join(pack_lanes(bp.reshape(groups, lanes), acc_bits)) + "\n"
    write_text_atomic(bfile, biases)
    engine = {"SIMD": simd, "DEPTHWISE": int(depthwise),
              "MUL_SPLIT": mul_split(lanes, simd, packing, fin.signed, depthwise)}
    return {"N_IN": n_in, "N_OUT": n_out, "LANES": lanes, "W_BITS": wbits, "ACC_BITS": acc_bits,
            "OUT_BITS": op.out.bits, "SHIFT": shift, "OUT_MIN": op.out.min, "OUT_MAX": op.out.max,
            "WEIGHT_FILE": f'"{wfile.resolve()}"', "BIAS_FILE": f'"{bfile.resolve()}"',
            **{k: v for k, v in engine.items() if v != (1 if k == "SIMD" else 0)}}


def gelu_params(m: IntModel, op: Op, out_dir: Path) -> dict:
    """Parameters and table ROM of rtl/gelu.v."""
    fin = m.formats()[op.inputs[0]]
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / f"{op.name.replace('.', '_')}.table.hex"
    write_text_atomic(table, "\n".join(hex_words(m.array(op, "lut"), fin.bits)) + "\n")
    return {"N": _width(m, op), "BITS": fin.bits, "IN_MIN": fin.min, "TABLE_FILE": f'"{table.resolve()}"'}


def residual_add_params(m: IntModel, op: Op) -> dict:
    """Parameters of rtl/residual_add.v: two streamed operands, or a constant (const_stream) as b."""
    fa = m.formats()[op.inputs[0]]
    b_frac = m.formats()[op.inputs[1]].frac if len(op.inputs) == 2 else op.attrs["const_frac"]
    f = max(fa.frac, b_frac)
    if f < op.out.frac:
        raise ValueError(f"{op.name}: output grid finer than the inputs'")
    return {"N": _width(m, op), "BITS": fa.bits, "OUT_BITS": op.out.bits, "A_SHIFT": f - fa.frac,
            "B_SHIFT": f - b_frac, "SHIFT": f - op.out.frac, "OUT_MIN": op.out.min, "OUT_MAX": op.out.max}


def pool_params(m: IntModel, op: Op) -> dict:
    """Parameters of rtl/pool.v (mean over the tokens of an image, one frame per image): the tokens of a
    token tensor (axis 1), or the pixels of a channels-first one (axes 2, 3)."""
    t = op.inputs[0]
    pooled = (2, 3) if t in layout.channels_first(m) else (1,)
    if tuple(op.attrs["axes"]) != pooled:
        raise ValueError(f"{op.name}: rtl/pool.v pools all the tokens of an image (axes {pooled} here)")
    fin = m.formats()[t]
    tokens = layout.tokens(m, t, tensor_shapes(m)[t])
    log2n = spec.log2_exact(tokens, "pooled count")
    shift = fin.frac + log2n - op.out.frac
    if shift < 0:
        raise ValueError(f"{op.name}: output grid finer than the sum's (shift {shift})")
    return {"N": _width(m, op), "BITS": fin.bits, "IN_SIGNED": int(fin.signed), "ACC_BITS": fin.bits + log2n + 1,
            "OUT_BITS": op.out.bits, "SHIFT": shift, "OUT_MIN": op.out.min, "OUT_MAX": op.out.max}


def _stream_index(m: IntModel, name: str, first: int = 0) -> np.ndarray:
    """Tensor `name` of one image (its tensor_shapes shape) whose stream tokens [tokens, elements] hold
    first, first + 1, ... in stream order: running a golden data-movement op on it shows where each element
    goes (rtl/layout.py gives the stream order)."""
    shape = tensor_shapes(m)[name]
    grid = (layout.tokens(m, name, shape), layout.elements(m, name, shape))
    return layout.from_tokens(m, name, first + np.arange(np.prod(grid)).reshape(grid), shape)


def _stream_result(m: IntModel, op: Op, x: list[np.ndarray]) -> np.ndarray:
    """The golden op on tensors of one image -> its output as stream tokens [tokens, elements]."""
    y = run_op(m, op, [layout.batched(m, t, v) for t, v in zip(op.inputs, x)], m.formats())
    return layout.to_tokens(m, op.name, layout.unbatched(m, op.name, y))


def reorder_params(m: IntModel, op: Op, out_dir: Path) -> dict:
    """Parameters and ORDER ROM of rtl/reorder.v for a token permutation (unfold, fold, window_partition,
    window_reverse): the golden op itself, run on the input's element indices, gives the order, so the RTL
    permutes as golden does by construction."""
    if op.op not in REORDER_OPS:
        raise ValueError(f"{op.name}: '{op.op}' is not a token permutation")
    idx = _stream_index(m, op.inputs[0])
    elements = layout.to_tokens(m, op.inputs[0], idx).shape[1]
    out = _stream_result(m, op, [idx])
    order = out[:, 0] // elements
    if out.shape[1] != elements or (out != order[:, None] * elements + np.arange(elements)).any() \
            or sorted(order) != list(range(len(order))):
        raise ValueError(f"{op.name}: golden's {op.op} does not move whole tokens")
    rom = out_dir / f"{op.name.replace('.', '_')}.order.hex"
    words = "\n".join(hex_words(order, max(1, (len(order) - 1).bit_length()))) + "\n"
    write_text_atomic(rom, words)  # a simulation may be reading the previous one
    return {"TOKENS": len(order), "WIDTH": elements * m.formats()[op.inputs[0]].bits,
            "ORDER_FILE": f'"{rom.resolve()}"'}


def concat_params(m: IntModel, op: Op) -> dict:
    """Parameters of rtl/concat.v: token widths of a and b, checked against golden's concat (a's elements, then
    b's, within each token)."""
    if op.op != "concat" or len(op.inputs) != 2:
        raise ValueError(f"{op.name}: rtl/concat.v joins two tensors")
    a = _stream_index(m, op.inputs[0])
    a_tok = layout.to_tokens(m, op.inputs[0], a)
    b = _stream_index(m, op.inputs[1], a_tok.size)
    b_tok = layout.to_tokens(m, op.inputs[1], b)
    out = _stream_result(m, op, [a, b])
    if len(a_tok) != len(b_tok) or out.shape != (len(a_tok), a_tok.shape[1] + b_tok.shape[1]) \
            or (out != np.hstack([a_tok, b_tok])).any():
        raise ValueError(f"{op.name}: golden's concat does not join a's and b's tokens element-wise")
    fa, fb = (m.formats()[t] for t in op.inputs)
    return {"A_WIDTH": a_tok.shape[1] * fa.bits, "B_WIDTH": b_tok.shape[1] * fb.bits}


def image_tokens_params(m: IntModel) -> dict:
    """Parameters of rtl/image_tokens.v: the model's image on the BUS_BITS pixel bus -> pixel tokens."""
    c, h, w = m.input_shape
    bits = m.formats()[m.input_name].bits
    ppb = BUS_BITS // bits
    if BUS_BITS % bits or (h * w) % ppb or h * w // ppb < 2:
        raise ValueError(f"rtl/image_tokens.v: a {h}x{w} channel plane is not a whole number (>= 2) of "
                         f"{BUS_BITS}-bit beats of {bits}-bit pixels")
    return {"C": c, "H": h, "W": w, "PIX_BITS": bits, "PIX_PER_BEAT": ppb}


def layernorm_params(m: IntModel, op: Op) -> dict:
    """Parameters of rtl/layernorm.v: every width from worst-case bounds over the input format.

    With R = x_max - x_min: |d_i| <= (D-1)*R; sum(d^2) = D^2 * sum((x - mean)^2) <= D * k*(D-k) * R^2 with
    k = D//2 (extreme inputs); S = D*sum(d^2). Quotient: d_i^2 <= (D-1)/D * sum(d^2) (sum(d) = 0), so
    |d_i| * (D << F) <= c * sqrt(S) with c = sqrt(D-1) * 2**F, and r >= m0 = isqrt(D^2 * (D-1)) (smallest S
    that is not 0), hence |d_i| * (D << F) / r < c * (m0+1) / m0.
    """
    import math

    fin = m.formats()[op.inputs[0]]
    dim = _width(m, op)
    frac = spec.layernorm_out_frac(dim)
    if op.out.frac != frac or op.out.bits != spec.ACT_BITS or not op.out.signed:
        raise ValueError(f"{op.name}: output format {op.out} is not LayerNorm's int8 on 2**-{frac}")
    span = fin.max - fin.min
    mag_max = (dim - 1) * span
    sumsq_max = dim * (dim // 2) * (dim - dim // 2) * span * span
    s_max = dim * sumsq_max
    root_bits = max(math.isqrt(s_max).bit_length(), 2)
    num_max = mag_max * (dim << frac)
    m0 = math.isqrt(dim * dim * (dim - 1))
    c_up = math.isqrt((dim - 1) << (2 * frac)) + 1
    quot_bits = (c_up * (m0 + 1) // m0).bit_length()
    if 2 * root_bits > 64 or num_max.bit_length() > 64:
        raise ValueError(f"{op.name}: {dim} features overflow rtl/layernorm.v's 64-bit constant products")
    # one squarer (a DSP; it also squares sum(x)) and two pipelined dividers: about
    # max(D + 5, D/2 + ROOT_BITS + QUOT_BITS + 10) cycles per token, under the projections' 2*D, so more squarers
    # would only cost DSPs
    lanes = 1
    div_lanes = max(n for n in range(1, 3) if dim % n == 0)
    return {"D": dim, "IN_BITS": fin.bits, "IN_SIGNED": int(fin.signed), "F": frac, "OUT_BITS": op.out.bits,
            "OUT_MIN": op.out.min, "OUT_MAX": op.out.max,
            "SUM_BITS": max(dim * fin.max, -dim * fin.min - 1).bit_length() + 1,
            "XSQ_BITS": (dim * max(fin.min**2, fin.max**2)).bit_length(),
            "ROOT_BITS": root_bits,
            "NUM_BITS": num_max.bit_length(), "QUOT_BITS": quot_bits, "LANES": lanes, "DIV_LANES": div_lanes}


def _signed_bits(values: np.ndarray) -> int:
    """Two's-complement width that holds every value."""
    lo, hi = int(np.min(values, initial=0)), int(np.max(values, initial=0))
    return max(hi.bit_length(), (-lo - 1).bit_length()) + 1


def attention_params(m: IntModel, op: Op, out_dir: Path) -> dict:
    """Parameters (and bias/mask ROM files, where the op has them) of rtl/attention.v."""
    fq, fk, fv = (m.formats()[t] for t in op.inputs)
    if len({f.bits for f in (fq, fk, fv)}) != 1 or not (fq.signed and fk.signed and fv.signed):
        raise ValueError(f"{op.name}: rtl/attention.v takes q, k, v of one signed width")
    shape = tensor_shapes(m)[op.inputs[0]]  # (N, D), or (W, N, D) for window-batched tensors
    tokens, dim = shape[-2], shape[-1]
    heads = int(op.attrs["heads"])
    hd = dim // heads
    bits = fq.bits
    s_frac = fq.frac + fk.frac + spec.attention_score_shift(hd)
    bias, mask = m.array(op, "bias"), m.array(op, "mask")
    frac, dot_shift, bias_shift, bias_max = s_frac, 0, 0, 0
    if bias is not None:
        bias_frac = int(op.attrs.get("bias_frac", 0))
        frac = max(s_frac, bias_frac)
        dot_shift, bias_shift = frac - s_frac, frac - bias_frac
        bias_max = int(np.abs(np.asarray(bias, np.int64)).max(initial=0))
    min_in = 1 << (bits - 1)  # largest magnitude of a signed `bits` value
    # rtl/lutdot.v gives q.k - off(q), 0 <= off < hd * 4**digits / 3 (the softmax cancels it; the width holds it)
    off_max = hd * ((4 ** ((bits + 1) // 2) - 1) // 3)
    dot_bound = max(hd * min_in * min_in, hd * min_in * (min_in - 1) + off_max)
    score_bound = (dot_bound << dot_shift) + (bias_max << bias_shift)
    lut = spec.exp2_lut()
    lut_bits = int(lut.max()).bit_length()
    min_sum = int(lut[0])  # the maximum score has t = 0; every other e_j <= lut[0]
    inv_bits = ((1 << spec.SOFTMAX_RECIP_BITS) // min_sum).bit_length()
    if (1 << spec.SOFTMAX_RECIP_BITS) >> inv_bits >= min_sum:
        raise ValueError("reciprocal does not fit INV_BITS")
    out_shift = spec.PROB.frac + fv.frac - op.out.frac
    if out_shift < 0:
        raise ValueError(f"{op.name}: output grid finer than the context's (shift {out_shift})")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = op.name.replace(".", "_")
    lut_file = out_dir / f"{stem}.exp2.hex"
    write_text_atomic(lut_file, "\n".join(hex_words(lut, lut_bits)) + "\n")
    params = {"N": tokens, "D": dim, "HEADS": heads, "BITS": bits,
              "SCORE_BITS": score_bound.bit_length() + 1, "DOT_SHIFT": dot_shift,
              "S_SHIFT": frac - spec.SOFTMAX_EXP_IN_FRAC, "EXP_IN_FRAC": spec.SOFTMAX_EXP_IN_FRAC,
              "MIN_SHIFT": spec.SOFTMAX_MIN_SHIFT, "LUT_BITS": lut_bits,
              "SUM_BITS": (tokens * int(lut.max())).bit_length(), "RECIP_BITS": spec.SOFTMAX_RECIP_BITS,
              "INV_BITS": inv_bits, "PROB_BITS": spec.PROB.bits,
              "PROB_SHIFT": spec.SOFTMAX_RECIP_BITS - spec.PROB.frac, "PROB_MAX": spec.PROB.max,
              "CTX_BITS": (tokens * spec.PROB.max * min_in).bit_length() + 1,
              "OUT_BITS": op.out.bits, "OUT_SHIFT": out_shift, "OUT_MIN": op.out.min, "OUT_MAX": op.out.max,
              "LUT_FILE": f'"{lut_file.resolve()}"'}
    if bias is not None:
        bias = np.asarray(bias, np.int64)
        if bias.shape != (heads, tokens, tokens):
            raise ValueError(f"{op.name}: bias of shape {bias.shape}, expected {(heads, tokens, tokens)}")
        bias_file = out_dir / f"{stem}.bias.hex"
        bias_bits = _signed_bits(bias)
        write_text_atomic(bias_file, "\n".join(hex_words(bias, bias_bits)) + "\n")
        params.update({"HAS_BIAS": 1, "BIAS_BITS": bias_bits, "BIAS_SHIFT": bias_shift,
                       "BIAS_FILE": f'"{bias_file.resolve()}"'})
    if mask is not None:
        mask = np.asarray(mask) != 0
        if mask.shape[1:] != (tokens, tokens):
            raise ValueError(f"{op.name}: mask of shape {mask.shape}, expected (W, {tokens}, {tokens})")
        mask_file = out_dir / f"{stem}.mask.hex"
        write_text_atomic(mask_file, "\n".join(hex_words(mask, 1)) + "\n")
        params.update({"HAS_MASK": 1, "WINDOWS": mask.shape[0], "MASK_FILE": f'"{mask_file.resolve()}"'})
    return params


def _width(m: IntModel, op: Op) -> int:
    """Elements per token of the op's output."""
    return tensor_shapes(m)[op.name][-1]


REORDER_OPS = tuple(name for name, d in OPS.items() if d.rtl == "reorder")  # token permutations


def pointwise(m: IntModel, op: Op) -> bool:
    """A 1x1 convolution (stride 1, no padding, one group): a linear over pixel tokens."""
    return (op.op == "conv" and m.array(op, "weight").shape[2:] == (1, 1) and op.attrs["stride"] == 1
            and op.attrs["padding"] == 0 and op.attrs["groups"] == 1)


def module_of(m: IntModel, op: Op) -> str:
    """The RTL kernel (rtl/<module>.v) that runs an op of the model file: the table of ops' `rtl`, but a 1x1
    convolution runs on rtl/linear.v."""
    return "linear" if pointwise(m, op) else OPS[op.op].rtl


def engine_shape(m: IntModel, op: Op) -> Engine | None:
    """What an op that runs on the linear engine (linear, patch_embed, conv) asks of it, else None."""
    if not OPS[op.op].weighted:
        return None
    w = m.array(op, "weight")  # [O, I] or [O, C/groups, K, K]
    depthwise = op.op == "conv" and op.attrs["groups"] > 1
    # rtl/conv.v's gather walks an output pixel's K*K taps and 5 pipeline stages (its header); a 1x1 conv runs
    # on rtl/linear.v itself
    floor = w.shape[-1] ** 2 + 5 if op.op == "conv" and not pointwise(m, op) else 0
    return Engine(w[0].size, w.shape[0], layout.tokens(m, op.name, tensor_shapes(m)[op.name]), depthwise,
                  m.formats()[op.inputs[0]].signed, floor)


def _attention_dsp(m: IntModel, op: Op) -> int:
    head_dim = tensor_shapes(m)[op.name][-1] // int(op.attrs["heads"])
    return -(-head_dim // 2) + 1


# DSP slices of an op's kernel outside the linear engine (the table of ops' `dsp` rule), as Yosys maps
# rtl/attention.v (a mul2 per pair of head elements for p * v, one for e * inv) and rtl/layernorm.v (its
# squarers: one slice)
DSP_RULES = {"none": lambda m, op: 0, "attention": _attention_dsp, "layernorm": lambda m, op: 1}


def kernel_dsp(m: IntModel, op: Op) -> int:
    """An estimate that steers rtl/planner.py; `vitflow sim`'s Yosys count is the measurement."""
    return DSP_RULES[OPS[op.op].dsp](m, op)


def _clog2(n: int) -> int:
    """Verilog's $clog2."""
    return (n - 1).bit_length()


def attention_slot(p: dict) -> int:
    """Cycles per job (query token, head) of rtl/attention.v with parameters p: its SLOT, as its localparams
    derive it."""
    dot_lat = 1 + (_clog2(p["D"] // p["HEADS"]) + _clog2((p["BITS"] + 1) // 2) + 2) // 2
    slot_w = p["N"] + max(1 + dot_lat + p.get("HAS_BIAS", 0) + 1, 5 + 1, 7 + 2)  # stages S, X, C
    div_stages = -(-p["INV_BITS"] // (slot_w - 1))
    return max(slot_w, -(-p["INV_BITS"] // div_stages) + 1)


def _engine_cycles(m: IntModel, op: Op, params: dict, tokens: int) -> float:
    """the engine's lanes x SIMD, as kernel_params chose them; a conv's gather floor"""
    engine = engine_shape(m, op)
    per_token = Parallel(params["LANES"], params.get("SIMD", 1)).cycles_per_token(engine.n_in, engine.n_out)
    return max(per_token, engine.floor) * tokens


def _layernorm_cycles(m: IntModel, op: Op, p: dict, tokens: int) -> float:
    """stage A (squares), stage B (root, divisions, the divider's drain)"""
    return tokens * max(p["D"] // p["LANES"] + 6, p["ROOT_BITS"] + p["D"] // p["DIV_LANES"] + p["QUOT_BITS"] + 10)


def _stream_cycles(m: IntModel, op: Op, params: dict, tokens: int) -> float:
    """a token per cycle, in and out (pool takes an image's tokens and gives one)"""
    return max(tokens, *(layout.tokens(m, t, tensor_shapes(m)[t]) for t in op.inputs))


# steady-state cycles per image of one instance, by the table of ops' `cycles` rule
CYCLE_RULES = {
    "engine": _engine_cycles,
    "attention": lambda m, op, p, tokens: tokens * p["HEADS"] * attention_slot(p),  # a job per (query, head)
    "layernorm": _layernorm_cycles,
    # a token per cycle; a bank's hand-over (freed two stages after its last read) stalls the writer one cycle
    # every other image: simulated 16.5 cycles per image of 16 tokens
    "reorder": lambda m, op, p, tokens: tokens + 0.5,
    "stream": _stream_cycles,
}


def kernel_cycles(m: IntModel, op: Op, params: dict) -> float:
    """Steady-state cycles per image of one instance of the op's kernel with `params`, as its header gives
    them: what kernel_copies divides by the budget. rtl_tests/pace checks it against the simulation of every
    distinct instance of the shipped tops (within 3%)."""
    tokens = layout.tokens(m, op.name, tensor_shapes(m)[op.name])  # output tokens per image
    return CYCLE_RULES[OPS[op.op].cycles](m, op, params, tokens)


def kernel_copies(m: IntModel, op: Op, params: dict, plan: Plan) -> int:
    """Instances of the op's kernel in the top: 1, or (Plan.max_copies > 1, a COPYABLE op) as many as its
    cycles per image need to share the images within the budget (fewest_copies: at most max_copies)."""
    if (engine := engine_shape(m, op)) is not None:
        return plan.copies_for(op, engine)
    if op.op not in COPYABLE:
        return 1
    return fewest_copies(-(-kernel_cycles(m, op, params) // plan.cycles_per_image), plan.max_copies)


def _engine_params(m: IntModel, op: Op, plan: Plan, rom_dir: Path) -> dict:
    lanes = plan.lanes_for(op, engine_shape(m, op))
    if op.op == "patch_embed":  # its engine takes SIMD and MUL_SPLIT too
        c, h, w = m.input_shape
        ppb = BUS_BITS // spec.PIXEL.bits
        if (c * h * w) % ppb:
            raise ValueError(f"image of {c * h * w} pixels is not a whole number of {BUS_BITS}-bit beats")
        return patch_embed_params(m, op, lanes, rom_dir, ppb, plan.packing)
    if op.op == "conv":  # a 1x1 conv: a linear over pixel tokens
        return linear_params(m, op, lanes, rom_dir, weight=m.array(op, "weight")[:, :, 0, 0], packing=plan.packing)
    return linear_params(m, op, lanes, rom_dir, packing=plan.packing)


# each RTL module's parameters (and ROM files) for an op, by the module the table of ops names (module_of)
PARAMS = {
    "patch_embed": _engine_params,
    "linear": _engine_params,
    "conv": lambda m, op, plan, rom_dir: conv_params(m, op, plan, rom_dir),
    "reorder": lambda m, op, plan, rom_dir: reorder_params(m, op, rom_dir),
    "concat": lambda m, op, plan, rom_dir: concat_params(m, op),
    "residual_add": lambda m, op, plan, rom_dir: residual_add_params(m, op),
    "layernorm": lambda m, op, plan, rom_dir: layernorm_params(m, op),
    "attention": lambda m, op, plan, rom_dir: attention_params(m, op, rom_dir),
    "gelu": lambda m, op, plan, rom_dir: gelu_params(m, op, rom_dir),
    "pool": lambda m, op, plan, rom_dir: pool_params(m, op),
}


def kernel_params(m: IntModel, op: Op, plan: Plan, rom_dir: Path) -> dict:
    module = module_of(m, op) if op.op in OPS else None
    if module not in PARAMS:
        raise ValueError(f"{op.name}: no RTL kernel for op '{op.op}'")
    return PARAMS[module](m, op, plan, rom_dir)

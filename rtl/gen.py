"""Writes what the Verilog kernels read from the model file: ROM images ($readmemh) and parameter sets.

Nothing numeric is typed into the RTL: widths, shifts, saturation bounds and memories come from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..quant import spec
from ..quant.golden import tensor_shapes
from ..quant.model_file import IntModel, Op


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


def linear_params(m: IntModel, op: Op, lanes: int, out_dir: Path) -> dict:
    """Parameters and ROM files of rtl/linear.v for one linear op of the model file."""
    if op.op != "linear" or op.attrs.get("raw"):
        raise ValueError(f"{op.name}: rtl/linear.v takes a requantized linear layer")
    w, b = m.array(op, "weight"), m.array(op, "bias")
    n_out, n_in = w.shape
    if n_out % lanes:
        raise ValueError(f"{op.name}: {n_out} outputs are not a multiple of {lanes} lanes")
    fin = m.formats()[op.inputs[0]]
    wbits = int(m.config.get("weight_bits", 8))
    shift = fin.frac + op.attrs["w_frac"] - op.out.frac
    if shift < 0:
        raise ValueError(f"{op.name}: output grid finer than the accumulator's (shift {shift})")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = op.name.replace(".", "_")
    wfile, bfile = out_dir / f"{stem}.weight.hex", out_dir / f"{stem}.bias.hex"
    # word (group g, input i) holds W[g*lanes + l, i] for l = 0..lanes-1
    rows = w.reshape(n_out // lanes, lanes, n_in).transpose(0, 2, 1).reshape(-1, lanes)
    wfile.write_text("\n".join(pack_lanes(rows, wbits)) + "\n")
    bfile.write_text("\n".join(hex_words(b, spec.ACC_BITS)) + "\n")
    return {"N_IN": n_in, "N_OUT": n_out, "LANES": lanes, "IN_BITS": fin.bits, "IN_SIGNED": int(fin.signed),
            "W_BITS": wbits, "ACC_BITS": spec.ACC_BITS, "OUT_BITS": op.out.bits, "SHIFT": shift,
            "OUT_MIN": op.out.min, "OUT_MAX": op.out.max,
            "WEIGHT_FILE": f'"{wfile.resolve()}"', "BIAS_FILE": f'"{bfile.resolve()}"'}


def gelu_params(m: IntModel, op: Op, out_dir: Path) -> dict:
    """Parameters and table ROM of rtl/gelu.v."""
    fin = m.formats()[op.inputs[0]]
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / f"{op.name.replace('.', '_')}.table.hex"
    table.write_text("\n".join(hex_words(m.array(op, "lut"), fin.bits)) + "\n")
    return {"N": _width(m, op), "BITS": fin.bits, "IN_MIN": fin.min, "TABLE_FILE": f'"{table.resolve()}"'}


def residual_add_params(m: IntModel, op: Op) -> dict:
    """Parameters of rtl/residual_add.v (two streamed operands)."""
    fa, fb = (m.formats()[t] for t in op.inputs)
    f = max(fa.frac, fb.frac)
    if f < op.out.frac:
        raise ValueError(f"{op.name}: output grid finer than the inputs'")
    return {"N": _width(m, op), "BITS": fa.bits, "OUT_BITS": op.out.bits, "A_SHIFT": f - fa.frac,
            "B_SHIFT": f - fb.frac, "SHIFT": f - op.out.frac, "OUT_MIN": op.out.min, "OUT_MAX": op.out.max}


def pool_params(m: IntModel, op: Op) -> dict:
    """Parameters of rtl/pool.v (mean over the tokens of an image, one frame per image)."""
    if tuple(op.attrs["axes"]) != (1,):
        raise ValueError(f"{op.name}: rtl/pool.v pools tokens (axis 1)")
    fin = m.formats()[op.inputs[0]]
    tokens = tensor_shapes(m)[op.inputs[0]][0]
    log2n = spec.log2_exact(tokens, "pooled count")
    shift = fin.frac + log2n - op.out.frac
    if shift < 0:
        raise ValueError(f"{op.name}: output grid finer than the sum's (shift {shift})")
    return {"N": _width(m, op), "BITS": fin.bits, "IN_SIGNED": int(fin.signed), "ACC_BITS": fin.bits + log2n + 1,
            "OUT_BITS": op.out.bits, "SHIFT": shift, "OUT_MIN": op.out.min, "OUT_MAX": op.out.max}


def _width(m: IntModel, op: Op) -> int:
    """Elements per token of the op's output."""
    return tensor_shapes(m)[op.name][-1]


@dataclass(frozen=True)
class KernelCase:
    """One RTL kernel instance checked by rtl_tests and measured by `vitflow sim`: a layer of a shipped model."""

    module: str
    arch: str
    layer: str
    lanes: int = 0  # linear only: parallel MAC lanes

    def params(self, m: IntModel, rom_dir: Path) -> dict:
        op = next(o for o in m.ops if o.name == self.layer)
        if self.module == "linear":
            return linear_params(m, op, self.lanes, rom_dir)
        if self.module == "gelu":
            return gelu_params(m, op, rom_dir)
        if self.module == "pool":
            return pool_params(m, op)
        return residual_add_params(m, op)


CASES = {c.module: c for c in (KernelCase("linear", "vit", "blocks.0.mlp.fc1", lanes=16),
                               KernelCase("gelu", "vit", "blocks.0.mlp.gelu"),
                               KernelCase("residual_add", "vit", "blocks.0.add1"),
                               KernelCase("pool", "vit", "pool"))}

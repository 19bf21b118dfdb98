"""Estimated xc7 LUTs and flip-flops of each RTL module from its parameters: what the planner (rtl/planner.py)
steers by before Yosys counts the top (rtl/synth.py). The coefficients are least-squares fits to Yosys'
synth_xilinx counts of the instances of the three shipped tops (vit, mobilevit, swin; packed and split engines);
rtl/test_planner.py holds the tops' totals within 10% of the count."""

from __future__ import annotations

from .plan import PACKED, SPLIT


def engine(p: dict) -> tuple[float, float]:
    """rtl/linear.v (and the engine inside patch_embed / conv): per multiply of a cycle (LANES x SIMD) a packed
    pair costs half a DSP and adder LUTs, a split one also the radix-4 LUT multiplier; per lane its accumulator.
    Fitted on 38 distinct engines (1 to 48 lanes, SIMD 1 to 7)."""
    multiplies = p["LANES"] * p.get("SIMD", 1)
    split = p.get("MUL_SPLIT", PACKED) == SPLIT  # SEPARATE lanes as packed: no LUT multiplier
    lut = 114 + (58 if split else 31) * multiplies + 0.76 * p["LANES"] * p["ACC_BITS"]
    ff = 758 + (109 if split else 74) * multiplies
    return lut, ff


def conv(p: dict) -> tuple[float, float]:
    """rtl/conv.v: its engine, and the im2col vector (K*K*C_IN elements) with the frame buffer's read path."""
    lut, ff = engine(p)
    vector = p["K"] ** 2 * p["C_IN"] * p["IN_BITS"]
    return lut + 0.3 * vector, ff + vector


def _per_bit(lut: float, ff: float, key: str = "WIDTH"):
    """A module whose logic follows its data width: (lut, ff) per bit of parameter `key`."""
    return lambda p: (lut * p[key], ff * p[key])


SLICE_PER_BIT = (1, 2)  # axis_register: a 2:1 mux per bit; its output and skid registers


def _with_slice(lut: float, ff: float, key: str):
    """A module with an output register slice (axis_register) of parameter `key`'s bits beside its own logic."""
    return lambda p: (lut + SLICE_PER_BIT[0] * p[key], ff + SLICE_PER_BIT[1] * p[key])


def _per_element(lut: float, ff: float, key: str = "N"):
    """A module whose logic follows its elements per token: (lut, ff) per element of parameter `key`."""
    return lambda p: (lut * p[key], ff * p[key])


ESTIMATES = {
    "linear": engine,
    "patch_embed": engine,
    "conv": conv,
    "attention": lambda p: (2300 + 16 * p["D"], 3900 + 70 * p["D"]),  # its pipeline, then the head-dim lanes
    "layernorm": lambda p: (220 + 16 * p["D"], 420 + 31 * p["D"]),
    "gelu": _per_element(24, 8),            # a table lookup per element
    "residual_add": _per_element(14, 8),    # an add, shift and saturate per element
    "pool": _per_element(34, 34),           # an accumulator per element
    "axis_register": _per_bit(*SLICE_PER_BIT),
    "axis_batch": _with_slice(40, 40, "WIDTH"),  # the beat and image counters (and the batch-end bit)
    "axis_fifo": lambda p: (8, p["WIDTH"] + 16),  # memory in block RAM, its output register
    "const_stream": _per_bit(1, 1),
    "reorder": lambda p: (13, p["WIDTH"] + 21),
    "concat": lambda p: (2, p["A_WIDTH"] + p["B_WIDTH"] + 2),
    "accel_ctrl": lambda p: (300, 362),
    "axis_unpack": _with_slice(170, 330, "WORD"),
}


# ECP5 cells per estimated xc7 cell: TRELLIS_COMB per LUT (LUT4s, carries and muxes for a LUT6's logic) and
# TRELLIS_FF per FF, from one whole-top synth_ecp5 (vit at 8,000 cycles per image: 71,286 TRELLIS_COMB and
# 64,616 TRELLIS_FF against 31,693 LUT and 56,274 FF estimated)
ECP5_CELLS = {"LUT": 2.25, "FF": 1.15}


def estimate(module: str, params: dict) -> dict[str, float]:
    """LUT and FF of one instance; a module not listed (broadcast, image_tokens: a few dozen cells) 50 / 50."""
    lut, ff = ESTIMATES.get(module, lambda p: (50, 50))(params)
    return {"LUT": lut, "FF": ff}


def total(instances: dict[str, dict]) -> dict[str, float]:
    """The estimate of a whole top (write_top's instances)."""
    each = [estimate(i["module"], i["params"]) for i in instances.values()]
    return {k: sum(e[k] for e in each) for k in ("LUT", "FF")}

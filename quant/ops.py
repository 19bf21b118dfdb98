"""The table of ops: for every op of the integer model file, what each stage of the flow does with it.

One entry per op, read by every stage: the model file validates an op against its schema (inputs, arrays,
attributes); the golden model runs `golden_kernels.<golden>`; hls/graph.py emits the hls4ml layer `hls`
(a stock layer, or the VitflowKernel custom layer running `hls/nnet_utils/vitflow_*.h`'s `<kernel>`);
rtl/gen.py instantiates `rtl/<rtl>.v` with the parameters of `rtl/gen.py <rtl>_params`, and its cycle model
and DSP estimate use the rules named by `cycles` and `dsp`; rtl/cost.py's LUT/FF estimate is keyed by the
module. Each stage keeps its own handlers in a dict keyed by op (or by rule), and quant/test_ops.py checks that
every stage has one for every entry here: adding an op is one entry here plus one handler per stage
(docs/adding_an_op.md). This module imports nothing of the flow, so every stage may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpDef:
    inputs: tuple[int, ...]             # allowed input counts
    arrays: tuple[str, ...] = ()        # required arrays (model file)
    optional: tuple[str, ...] = ()      # optional arrays
    attrs: tuple[str, ...] = ()         # required attributes
    golden: str = ""                    # quant/golden_kernels.py function
    hls: str = "VitflowKernel"          # hls4ml layer class (hls/graph.py)
    rtl: str = ""                       # rtl/<rtl>.v (a 1x1 conv runs on rtl/linear.v: gen.module_of)
    rtl_inputs: tuple[str, ...] = ("s_axis",)  # the RTL module's input stream ports, in the op's input order
    weighted: bool = False              # weight and bias arrays; runs on the MAC engine (lanes x SIMD, Plan)
    feature_map: bool = False           # output is a feature map [C, H, W] (channels-last in HLS)
    copyable: bool = False              # its kernel may run as several copies sharing the images (Plan)
    join: bool = False                  # its operands come from branches of unequal latency (skip FIFOs)
    cycles: str = "stream"              # cycle-model rule (rtl/gen.py CYCLE_RULES)
    dsp: str = "none"                   # DSP rule outside the MAC engine (rtl/gen.py DSP_RULES)


_WEIGHTED = dict(arrays=("weight", "bias"), weighted=True, cycles="engine")
_REORDER = dict(rtl="reorder", cycles="reorder")  # token permutations: rtl/reorder.v replays a ROM of indices

OPS: dict[str, OpDef] = {
    "patch_embed": OpDef((1,), attrs=("w_frac",), golden="patch_embed", hls="Conv2D", rtl="patch_embed",
                         **_WEIGHTED),  # not copyable: it drops a malformed frame whole, which no deal follows
    "conv": OpDef((1,), attrs=("w_frac", "stride", "padding", "groups"), golden="conv2d", hls="Conv2D",
                  rtl="conv", feature_map=True, copyable=True, **_WEIGHTED),
    "linear": OpDef((1,), attrs=("w_frac",), golden="linear", hls="Dense", rtl="linear", copyable=True,
                    **_WEIGHTED),
    "layernorm": OpDef((1,), golden="layernorm", rtl="layernorm", copyable=True, cycles="layernorm",
                       dsp="layernorm"),
    "attention": OpDef((3,), optional=("bias", "mask"), attrs=("heads",), golden="attention", rtl="attention",
                       rtl_inputs=("s_axis_q", "s_axis_k", "s_axis_v"), copyable=True, cycles="attention",
                       dsp="attention"),
    "gelu": OpDef((1,), arrays=("lut",), golden="gelu", rtl="gelu"),
    "residual_add": OpDef((1, 2), optional=("const",), golden="residual_add", rtl="residual_add",
                          rtl_inputs=("s_axis_a", "s_axis_b"), join=True),
    "pool": OpDef((1,), attrs=("axes",), golden="pool", rtl="pool"),
    "concat": OpDef((2,), attrs=("axis",), golden="concat", hls="Concatenate", rtl="concat",
                    rtl_inputs=("s_axis_a", "s_axis_b"), feature_map=True, join=True),
    "unfold": OpDef((1,), attrs=("patch",), golden="unfold", **_REORDER),
    "fold": OpDef((1,), attrs=("patch", "h", "w"), golden="fold", feature_map=True, **_REORDER),
    "window_partition": OpDef((1,), attrs=("grid", "window", "shift"), golden="window_partition", **_REORDER),
    "window_reverse": OpDef((1,), attrs=("grid", "window", "shift"), golden="window_reverse", **_REORDER),
}


def named(flag: str) -> tuple[str, ...]:
    """The ops whose entry has `flag` set, e.g. named("weighted")."""
    return tuple(name for name, d in OPS.items() if getattr(d, flag))

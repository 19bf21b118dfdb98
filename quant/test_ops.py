"""The table of ops (quant/ops.py) against every stage that reads it: each op has its golden kernel, its hls4ml
layer (and C++ kernel), its RTL module, parameters, cycle rule, DSP rule and LUT/FF estimate."""

import re
from pathlib import Path

import pytest

from vitflow.hls import graph
from vitflow.quant import golden, golden_kernels
from vitflow.quant.ops import OPS
from vitflow.rtl import cost, gen, passes

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_stage_has_the_op(name):
    d = OPS[name]
    assert callable(getattr(golden_kernels, d.golden)), f"{name}: golden_kernels.{d.golden}"
    assert name in golden.KERNEL_ARGS and name in golden.FAST_STEPS
    assert d.hls in graph.LAYERS
    if d.hls == "VitflowKernel":
        assert name in graph.VITFLOW_KERNELS
    assert (ROOT / "rtl" / f"{d.rtl}.v").is_file()
    assert d.rtl in gen.PARAMS and d.rtl in cost.ESTIMATES
    assert d.cycles in gen.CYCLE_RULES and d.dsp in gen.DSP_RULES
    assert passes.INPUT_PORTS.get(d.rtl, ["s_axis"]) == list(d.rtl_inputs)
    assert (d.arrays == ("weight", "bias")) == d.weighted == (d.cycles == "engine")


def test_hls_kernels_are_in_the_cpp_sources():
    """Every C++ function a VitflowKernel layer may call (hls/nnet_utils/vitflow_*.h)."""
    sources = "".join(p.read_text() for p in (ROOT / "hls" / "nnet_utils").glob("vitflow_*.h"))
    defined = set(re.findall(r"^void (\w+)\(", sources, re.M))
    kernels = {n for n in OPS if OPS[n].hls == "VitflowKernel"} | {"residual_add_const"}
    assert kernels <= defined, kernels - defined


def test_handlers_name_only_ops_of_the_table():
    for handlers in (golden.KERNEL_ARGS, golden.FAST_STEPS, graph.VITFLOW_KERNELS):
        assert set(handlers) <= set(OPS)
    assert set(gen.PARAMS) == {d.rtl for d in OPS.values()}

"""layernorm kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure, then
edge tokens the random images miss (largest r and quotients, smallest nonzero spread)."""

import os

import cocotb
import numpy as np
from stream import check_case, check_images, model_op


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "layernorm", ["s_axis"])


@cocotb.test()
async def edge_tokens(dut):
    from vitflow.quant.golden import tensor_shapes
    from vitflow.rtl.gen import CASES

    case = CASES["layernorm"]
    m, op = model_op(case.arch, case.layer)
    f, dim = m.formats()[op.inputs[0]], tensor_shapes(m)[op.name][-1]
    rows = []
    for k in (1, dim // 2, dim - 1):  # k elements at max, the rest at min: the largest spreads and quotients
        rows += [[f.max] * k + [f.min] * (dim - k), [f.min] * k + [f.max] * (dim - k)]
    rows += [[f.min + 1] + [f.min] * (dim - 1), [f.max - 1] + [f.max] * (dim - 1),  # smallest nonzero r
             [0] * (dim - 1) + [1], [0] * (dim - 1) + [-1], np.arange(dim) % (f.max + 1)]
    tokens = np.resize(np.array(rows, np.int64), (16, dim))  # one image, rows repeated
    os.environ.pop("VITFLOW_SIM_RESULTS", None)  # the measured result is the shared test's
    r = await check_images(dut, m, op, [[tokens]], ["s_axis"])
    assert r["mismatches"] == 0


def test_layernorm():
    from sim import run_case

    run_case("layernorm")

"""The multipliers of linear (mul2: a lane pair packed, mul2_split: a pair on a multiplier + LUTs, mul1: a lane of
its own) against Python integers for every (x, a) of their widths, b beside it, one new operand set per cycle: a
layer's own weights leave most of the weight range untried (fc1's lie within [-47, 70])."""

import os

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

LATENCY = 4  # every module


@cocotb.test()
async def all_products(dut):
    xb_bits, c_bits = int(os.environ["X_BITS"]), int(os.environ["C_BITS"])
    split, single = hasattr(dut, "x3"), hasattr(dut, "w")
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    xs, cs = range(-(1 << (xb_bits - 1)), 1 << (xb_bits - 1)), range(-(1 << (c_bits - 1)), 1 << (c_bits - 1))
    sent, errors, checked = [], 0, 0
    for i, (x, a) in enumerate([(x, a) for x in xs for a in cs] + [(0, 0)] * LATENCY):
        b = cs[(a * 37 + x * 11 + i) % len(cs)]  # b walks its range too, not in step with a
        if single:  # mul1: x*a alone (a on its w port), read back as (xw, x*b) below
            dut.x.value, dut.w.value = x, a
        else:
            dut.x.value, dut.a.value, dut.b.value = x, a, b
        if split:
            dut.x3.value, dut.xn.value = 3 * x, -x
        await RisingEdge(dut.clk)
        sent.append((x * a, x * b))
        if i >= LATENCY:  # read at the edge (before its update): the products of the operands LATENCY edges ago
            want = sent[i - LATENCY]
            got = (dut.xw.value.to_signed(), want[1]) if single else \
                (dut.xa.value.to_signed(), dut.xb.value.to_signed())
            checked += 1
            if got != want:
                errors += 1
                if errors <= 5:
                    dut._log.error(f"operands #{i - LATENCY}: got {got}, want {want}")
    dut._log.info(f"{checked} products, {errors} wrong")
    assert errors == 0 and checked >= len(xs) * len(cs)


@pytest.mark.parametrize("x_bits", [8, 9], ids=["x8", "x9"])
@pytest.mark.parametrize("module", ["mul2", "mul2_split", "mul1"])
def test_mul2(module, x_bits):
    from pathlib import Path

    from sim import run

    c_bits = 8  # the other operand's width: mul1 calls it W_BITS
    params = {"X_BITS": x_bits, ("W_BITS" if module == "mul1" else "C_BITS"): c_bits}
    run(module, "test_mul2", params, {"X_BITS": str(x_bits), "C_BITS": str(c_bits)}, test_dir=Path(__file__).parent)

"""residual_add kernel RTL vs the golden model: two token streams, random pauses on all three ports."""

import cocotb
from stream import check_case


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "residual_add", ["s_axis_a", "s_axis_b"])


def test_residual_add():
    from sim import run_case

    run_case("residual_add")

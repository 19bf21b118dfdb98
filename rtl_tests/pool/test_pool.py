"""pool kernel RTL vs the golden model: one mean token per image frame, under random backpressure."""

import cocotb
from stream import check_case


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "pool", ["s_axis"])


def test_pool():
    from sim import run_case

    run_case("pool")

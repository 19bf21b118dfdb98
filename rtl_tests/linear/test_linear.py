"""linear kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure."""

import cocotb
from stream import check_case


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "linear", ["s_axis"])


def test_linear():
    from sim import run_case

    run_case("linear")

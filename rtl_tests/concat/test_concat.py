"""concat kernel RTL vs the golden model: MobileViT's concat of its input with the transformer branch, two
token streams in stream layout, random pauses on all three ports, edge images included."""

import cocotb
from stream import check_case


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "concat", ["s_axis_a", "s_axis_b"])


def test_concat():
    from sim import run_case

    run_case("concat")

"""patch_embed kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure."""

import cocotb
from stream import check_case


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "patch_embed", ["s_axis"])


def test_patch_embed():
    from sim import run_case

    run_case("patch_embed")

"""linear kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure, with
the lane pairs packed (mul2) and split (mul2_split)."""

import cocotb
import pytest
from stream import check_case


@cocotb.test()
async def images_under_backpressure(dut):
    await check_case(dut, "linear", ["s_axis"])


@pytest.mark.parametrize("mul_split", [0, 1], ids=["packed", "split"])
def test_linear(mul_split):
    """rtl.gen.CASES["linear"] with its lane pairs built either way (rtl/gen.py picks one per layer)."""
    from sim import rom_dir, run

    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel
    from vitflow.rtl.gen import CASES

    case = CASES["linear"]
    m = IntModel.load(ModelPaths.resolve(case.arch, None).model_file)
    params = {**case.params(m, rom_dir("linear", case.arch, case.layer)), "MUL_SPLIT": mul_split}
    run("linear", "test_linear", params, {"IMAGES": "20"})

"""reorder kernel RTL vs the golden model: the token permutations of real layers (Swin's shifted and unshifted
window partition and reverse, MobileViT's unfold and fold) on whole images in stream layout under random
backpressure on both ports, edge images included; and reorder_params' refusal of what is not a permutation."""

import os

import cocotb
import pytest
from stream import check_case, check_images, make_images, model_op

# (arch, layer) beside CASES["reorder"] (swin blocks.1.partition, shift 1), under the slow marker
SLOW_LAYERS = (("swin", "blocks.1.reverse"), ("swin", "blocks.0.partition"), ("mobilevit", "unfold"),
               ("mobilevit", "fold"))


@cocotb.test()
async def images_under_backpressure(dut):
    layer = os.environ.get("REORDER_LAYER")
    if not layer:
        await check_case(dut, "reorder", ["s_axis"])
        return
    m, op = model_op(os.environ["REORDER_ARCH"], layer)
    r = await check_images(dut, m, op, make_images(m, op, int(os.environ.get("IMAGES", "20"))), ["s_axis"])
    assert r["mismatches"] == 0


def test_reorder():
    from sim import run_case

    run_case("reorder")


@pytest.mark.slow
@pytest.mark.parametrize("arch, layer", SLOW_LAYERS)
def test_reorder_layer(arch, layer):
    from sim import rom_dir, run

    from vitflow.rtl.gen import reorder_params

    m, op = model_op(arch, layer)
    run("reorder", "test_reorder", reorder_params(m, op, rom_dir("reorder", arch, layer)),
        {"IMAGES": "20", "REORDER_ARCH": arch, "REORDER_LAYER": layer})


def test_reorder_params_refuses_other_ops(tmp_path):
    from vitflow.rtl.gen import reorder_params

    m, op = model_op("swin", "blocks.0.ln1")
    with pytest.raises(ValueError, match="not a token permutation"):
        reorder_params(m, op, tmp_path)

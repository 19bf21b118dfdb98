"""conv kernel RTL vs the golden model: MobileViT's convolutions (stem: 3x3 over unsigned pixels, 64 pixels; dw:
depthwise 3x3, stride 2; local and fuse: 3x3 on the linear engine with SIMD; expand: 1x1) on whole images in
stream layout (rtl/layout.py) under random AXI-Stream backpressure, edge images included; and conv_params'
refusal of what rtl/conv.v does not run."""

import os

import cocotb
import pytest
from stream import check_case, check_images, make_images, model_op

ARCH = "mobilevit"
# beside CASES["conv"] (fuse): the depthwise dw in make test, the others under the slow marker; expand is a 1x1
# conv, which the top runs on rtl/linear.v, checked here to keep rtl/conv.v general
LAYERS = [pytest.param("stem", marks=pytest.mark.slow), "dw", pytest.param("local", marks=pytest.mark.slow),
          pytest.param("expand", marks=pytest.mark.slow)]


def random_images() -> int:
    """Random images per run beside the 3 edge images: 20 on Verilator, 1 on Icarus (the 4-state check; the
    lanes of fuse's engine simulate at ~20 cycles/s there)."""
    return 20 if os.environ.get("VITFLOW_SIM", "verilator") == "verilator" else 1


@cocotb.test()
async def images_under_backpressure(dut):
    layer = os.environ.get("CONV_LAYER")
    if not layer:
        await check_case(dut, "conv", ["s_axis"])
        return
    m, op = model_op(ARCH, layer)
    r = await check_images(dut, m, op, make_images(m, op, int(os.environ.get("IMAGES", "20"))), ["s_axis"])
    assert r["mismatches"] == 0


def test_conv():
    from sim import run_case

    run_case("conv", random_images())


@pytest.mark.parametrize("layer", LAYERS)
def test_conv_layer(layer):
    from sim import rom_dir, run

    from vitflow.rtl.gen import conv_params
    from vitflow.rtl.plan import Plan

    m, op = model_op(ARCH, layer)
    params = conv_params(m, op, Plan(), rom_dir("conv", ARCH, layer))  # the top's default parallelism
    run("conv", "test_conv", params, {"IMAGES": str(random_images()), "CONV_LAYER": layer})


def test_conv_params_refuses_grouped(tmp_path):
    from dataclasses import replace

    from vitflow.rtl.gen import conv_params
    from vitflow.rtl.plan import Plan

    m, op = model_op(ARCH, "local")  # 24 -> 24 channels: groups 2 would be neither 1 nor depthwise
    with pytest.raises(ValueError, match="groups = 1 or depthwise"):
        conv_params(m, replace(op, attrs={**op.attrs, "groups": 2}), Plan(), tmp_path)

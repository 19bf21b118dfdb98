"""residual_add kernel RTL vs the golden model: two token streams, random pauses on all three ports."""

import os

import cocotb

from stream import check_images, make_images, model_op

ARCH, LAYER, TOKENS = "vit", "blocks.0.add1", 16


@cocotb.test()
async def images_under_backpressure(dut):
    m, op = model_op(ARCH, LAYER)
    images = make_images(m, op, int(os.environ.get("IMAGES", "20")), TOKENS)
    r = await check_images(dut, m, op, images, ["s_axis_a", "s_axis_b"])
    assert r["mismatches"] == 0


def test_residual_add():
    from sim import run

    from vitflow.rtl.gen import residual_add_params

    m, op = model_op(ARCH, LAYER)
    run("residual_add", "test_residual_add", residual_add_params(m, op), {"IMAGES": "20"})

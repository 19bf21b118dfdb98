"""gelu kernel RTL vs the golden model under random AXI-Stream backpressure."""

import os

import cocotb

from stream import check_images, make_images, model_op

ARCH, LAYER, TOKENS = "vit", "blocks.0.mlp.gelu", 16


@cocotb.test()
async def images_under_backpressure(dut):
    m, op = model_op(ARCH, LAYER)
    r = await check_images(dut, m, op, make_images(m, op, int(os.environ.get("IMAGES", "20")), TOKENS), ["s_axis"])
    assert r["mismatches"] == 0


def test_gelu(tmp_path):
    from sim import run

    from vitflow.rtl.gen import gelu_params

    m, op = model_op(ARCH, LAYER)
    run("gelu", "test_gelu", gelu_params(m, op, out_dir=tmp_path), {"IMAGES": "20"})

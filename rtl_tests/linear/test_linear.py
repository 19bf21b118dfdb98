"""linear kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure."""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from vitflow.host.backends import ModelPaths
from vitflow.quant import golden
from vitflow.quant.model_file import IntModel

ARCH, LAYER, LANES, TOKENS = "vit", "blocks.0.mlp.fc1", 16, 16


def layer():
    m = IntModel.load(ModelPaths.resolve(ARCH, None).model_file)
    return m, next(o for o in m.ops if o.name == LAYER)


def make_images(m, op, n_random: int) -> list[np.ndarray]:
    """All-zero, all-max and all-min images, then random ones, as [TOKENS, n_in] integers."""
    fin = m.formats()[op.inputs[0]]
    shape = (TOKENS, m.array(op, "weight").shape[1])
    rng = np.random.default_rng(0)
    fixed = [np.zeros(shape, np.int64), np.full(shape, fin.max), np.full(shape, fin.min)]
    return fixed + [rng.integers(fin.min, fin.max + 1, shape) for _ in range(n_random)]


@cocotb.test()
async def images_under_backpressure(dut):
    m, op = layer()
    fin = m.formats()[op.inputs[0]]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    rng = random.Random(1)
    src.set_pause_generator(iter(lambda: rng.random() < 0.3, None))
    sink.set_pause_generator(iter(lambda: rng.random() < 0.3, None))
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    images = make_images(m, op, int(os.environ.get("IMAGES", "20")))
    for img in images:  # one beat per token, TLAST on an image's last token
        await src.send(AxiStreamFrame(img.astype(fin.dtype).tobytes()))
    mismatches = 0
    for img in images:
        frame = await sink.recv()
        got = np.frombuffer(bytes(frame.tdata), op.out.dtype).reshape(TOKENS, -1)
        mismatches += int((got != golden.run_op(m, op, [img[None]], m.formats())[0]).any(-1).sum())
    dut._log.info(json.dumps({"tokens": len(images) * TOKENS, "mismatches": mismatches}))
    assert mismatches == 0


def test_linear(tmp_path):
    from sim import run

    from vitflow.rtl.gen import linear_params

    m, op = layer()
    run("linear", "test_linear", linear_params(m, op, lanes=LANES, out_dir=tmp_path), {"IMAGES": "20"})

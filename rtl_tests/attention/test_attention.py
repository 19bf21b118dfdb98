"""attention kernel RTL vs the golden model: whole images of q, k, v tokens on three independently paused
AXI-Stream inputs, every output token compared. The vit case runs the shared stream testbench; the Swin case
(relative-position bias and window mask) streams each image as W window frames of N tokens and compares the
image's W frames with one golden run over its W windows, so that the mask's window index is frame mod W."""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, check_case

SWIN_LAYERS = ("blocks.0.attn.core", "blocks.1.attn.core")  # bias only; bias and window mask


async def check_windows(dut, layer: str, n_random: int, pause: float = 0.3) -> None:
    from vitflow.quant import golden
    from stream import model_op

    m, op = model_op("swin", layer)
    fmts = m.formats()
    windows, tokens, dim = golden.tensor_shapes(m)[op.inputs[0]]
    rng = np.random.default_rng(0)
    images = []
    for k in range(3 + n_random):  # all-zero, all-max, all-min, random
        per_input = []
        for t in op.inputs:
            f, shape = fmts[t], (windows, tokens, dim)
            per_input.append(np.full(shape, (0, f.max, f.min)[k], np.int64) if k < 3
                             else rng.integers(f.min, f.max + 1, shape))
        images.append(per_input)

    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    prng = random.Random(1)
    sources = [AxiStreamSource(AxiStreamBus.from_prefix(dut, p), dut.clk, dut.rst)
               for p in ("s_axis_q", "s_axis_k", "s_axis_v")]
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    for s in [*sources, sink]:
        s.set_pause_generator(iter(lambda: prng.random() < pause, None))
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for per_input in images:
        for w in range(windows):  # one frame per window, TLAST on its last token
            for src, t, x in zip(sources, op.inputs, per_input):
                await src.send(AxiStreamFrame(x[w].astype(fmts[t].dtype).tobytes()))
    mismatches = 0
    for per_input in images:
        ref = golden.run_op(m, op, per_input, fmts)  # [W, N, D]: window b gets mask[b % W]
        for w in range(windows):
            frame = await sink.recv()
            got = np.frombuffer(bytes(frame.tdata), op.out.dtype).reshape(tokens, dim)
            mismatches += int((got != ref[w]).any(-1).sum())
    dut._log.info(json.dumps({"kernel": op.op, "layer": layer, "arch": "swin", "images": len(images),
                              "mismatches": mismatches}))
    assert mismatches == 0


@cocotb.test()
async def images_under_backpressure(dut):
    layer = os.environ.get("SWIN_LAYER")
    if layer:
        await check_windows(dut, layer, int(os.environ.get("IMAGES", "20")))
    else:
        await check_case(dut, "attention", ["s_axis_q", "s_axis_k", "s_axis_v"])


def test_attention(tmp_path):
    from sim import run_case

    run_case("attention", tmp_path)


def test_attention_swin(tmp_path):
    from sim import run

    from stream import model_op

    from vitflow.rtl.gen import attention_params

    for layer in SWIN_LAYERS:
        m, op = model_op("swin", layer)
        run("attention", "test_attention", attention_params(m, op, tmp_path), {"SWIN_LAYER": layer, "IMAGES": "8"})

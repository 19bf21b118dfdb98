"""attention kernel RTL vs the golden model: whole images of q, k, v tokens on three independently paused
AXI-Stream inputs, every output token compared. The vit case runs the shared stream testbench; the Swin case
(relative-position bias and window mask) streams each image as W window frames of N tokens and compares the
image's W frames with one golden run over its W windows, so that the mask's window index is frame mod W.
Besides the random pauses, both cases also run under long stalls as in the whole-model top: the sink ready for
one cycle then stalled for ~100 (a linear behind it), input tokens spaced out (q, k, v nearly together), and
a mixed pattern of short pauses and long stalls on every port."""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, check_case, check_images, make_images, model_op

SWIN_LAYERS = ("blocks.0.attn.core", "blocks.1.attn.core")  # bias only; bias and window mask
PORTS = ("s_axis_q", "s_axis_k", "s_axis_v")


def _periodic(on: int, off: int, offset: int = 0):
    """`offset` paused cycles, then forever: `on` cycles unpaused, `off` paused."""
    yield from [True] * offset
    while True:
        yield from [False] * on
        yield from [True] * off


def long_stalls(port: str):
    """Like the top: the sink (a linear) takes one token then is busy ~100 cycles; q, k, v tokens come every
    ~97 cycles from three linears fed by one broadcast, a cycle or two apart."""
    if port == "m_axis":
        return _periodic(1, 100)
    return _periodic(1, 96, PORTS.index(port))


def mixed_stalls(port: str):
    """Per port, runs of ready/valid cycles (1..20) between pauses of random length: short, a slot or so,
    a few slots, a token's worth of heads and beyond (0..250 cycles)."""
    rng = random.Random(sum(map(ord, port)))

    def gen():
        while True:
            yield from [False] * rng.choice((1, 1, 1, 2, 3, 8, 20))
            kind = rng.random()
            n = (rng.randint(0, 3) if kind < 0.4 else rng.randint(10, 40) if kind < 0.6
                 else rng.randint(50, 120) if kind < 0.9 else rng.randint(120, 250))
            yield from [True] * n
    return gen()


async def check_windows(dut, layer: str, n_random: int, pause: float = 0.3, pauses=None) -> None:
    from vitflow.quant import golden

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
               for p in PORTS]
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    for p, s in zip([*PORTS, "m_axis"], [*sources, sink]):
        s.set_pause_generator(iter(lambda: prng.random() < pause, None) if pauses is None else pauses(p))
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
                              "mismatches": mismatches, "pause": pause if pauses is None else "pattern"}))
    assert mismatches == 0


@cocotb.test()
async def images_under_backpressure(dut):
    layer = os.environ.get("SWIN_LAYER")
    if layer:
        await check_windows(dut, layer, int(os.environ.get("IMAGES", "20")))
    else:
        await check_case(dut, "attention", list(PORTS))


async def check_stalls(dut, pauses, n_random: int) -> None:
    """The kernel's case (or SWIN_LAYER) under the pause pattern `pauses` (port -> iterator of bools)."""
    layer = os.environ.get("SWIN_LAYER")
    if layer:
        await check_windows(dut, layer, n_random, pauses=pauses)
        return
    from vitflow.rtl.cases import CASES

    case = CASES["attention"]
    m, op = model_op(case.arch, case.layer)
    r = await check_images(dut, m, op, make_images(m, op, n_random), list(PORTS), pauses=pauses)
    assert r["mismatches"] == 0


@cocotb.test()
async def images_under_long_sink_stalls(dut):
    await check_stalls(dut, long_stalls, min(int(os.environ.get("IMAGES", "20")), 5))


@cocotb.test()
async def images_under_mixed_stalls(dut):
    await check_stalls(dut, mixed_stalls, min(int(os.environ.get("IMAGES", "20")), 8))


def test_attention():
    from sim import run_case

    run_case("attention")


def test_attention_swin():
    from sim import rom_dir, run

    from vitflow.rtl.gen import attention_params

    for layer in SWIN_LAYERS:
        m, op = model_op("swin", layer)
        params = attention_params(m, op, rom_dir("attention", "swin", layer))
        run("attention", "test_attention", params, {"SWIN_LAYER": layer, "IMAGES": "8"})

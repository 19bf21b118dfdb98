"""Shared testbench for token-stream kernels: clock, reset, one AXI-Stream source per input and a sink, all
with random pauses; images of tokens go in, every output token is compared with the golden kernel."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from vitflow.host.backends import ModelPaths
from vitflow.quant import golden
from vitflow.quant.model_file import IntModel
from vitflow.rtl import layout

CLOCK_NS = 10
FRAME_TIMEOUT_US = 2000  # a frame later than this is a hang (deadlock), not a slow kernel


async def receive(sink: AxiStreamSink) -> AxiStreamFrame:
    """The next output frame, failing the test instead of waiting forever."""
    return await with_timeout(sink.recv(), FRAME_TIMEOUT_US, "us")


def output_ports(dut, prefixes: list[str]) -> list[tuple[str, str | None]]:
    """(output signal, the valid that qualifies it or None) of a stream kernel: the sink's valid, last and data
    (data and last only while valid), every source's ready."""
    return ([("m_axis_tvalid", None), ("m_axis_tdata", "m_axis_tvalid"), ("m_axis_tlast", "m_axis_tvalid")]
            + [(f"{p}_tready", None) for p in prefixes])


async def watch_outputs(dut, ports: list[tuple[str, str | None]]) -> None:
    """Fail the test the first cycle after reset that an output carries X or Z (4-state simulators only): a
    control output at any time, a data output while its valid is high; not checked before or during a reset."""
    if os.environ.get("VITFLOW_SIM", "verilator") == "verilator":
        return  # 2-state: nothing to see
    handles = [(getattr(dut, name), getattr(dut, valid) if valid else None) for name, valid in ports]
    while True:
        await FallingEdge(dut.clk)
        if not dut.rst.value.is_resolvable or int(dut.rst.value):
            continue  # before and during reset
        for (name, _), (h, v) in zip(ports, handles):
            if (v is None or (v.value.is_resolvable and int(v.value))) and not h.value.is_resolvable:
                qualified = f" while {v._name} = {v.value}" if v is not None else ""
                raise AssertionError(f"{name} = {h.value} (X or Z){qualified} at "
                                     f"{cocotb.utils.get_sim_time(unit='ns')} ns")


def set_pauses(ports, rng: random.Random, p: float) -> None:
    """Random pauses of probability p on cocotbext-axi sources/sinks; p = 0 removes them."""
    for s in ports:
        if p:
            s.set_pause_generator(iter(lambda: rng.random() < p, None))
        else:
            s.clear_pause_generator()
            s.pause = False  # clearing the generator keeps its last value


def model_op(arch: str, name: str):
    m = IntModel.load(ModelPaths.resolve(arch, None).model_file)
    return m, next(o for o in m.ops if o.name == name)


def make_images(m: IntModel, op, n_random: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Per image, one array per distinct input in the golden layout of one image (golden.tensor_shapes):
    all-zero, all-max, all-min, then random images over each input's format."""
    rng = np.random.default_rng(seed)
    fmts = m.formats()
    shapes = golden.tensor_shapes(m)  # one golden run, not one per input
    imgs = []
    for k in range(3 + n_random):
        per_input = []
        for t in dict.fromkeys(op.inputs):
            f, shape = fmts[t], shapes[t]
            fill = (0, f.max, f.min)
            per_input.append(np.full(shape, fill[k], np.int64) if k < 3 else rng.integers(f.min, f.max + 1, shape))
        imgs.append(per_input)
    return imgs


async def check_images(dut, m: IntModel, op, images, prefixes: list[str], pause: float = 0.3,
                       pauses=None) -> dict:
    """Stream `images` through the DUT under random backpressure and compare with golden; returns counts.
    `pauses`, if given, is called with each port's prefix ("m_axis" for the sink) and returns that port's
    pause pattern (an iterator of bools, True = paused) in place of the random pauses of probability `pause`."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    rng = random.Random(1)
    sources = [AxiStreamSource(AxiStreamBus.from_prefix(dut, p), dut.clk, dut.rst) for p in prefixes]
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    if pauses is None:
        set_pauses([*sources, sink], rng, pause)
    else:
        for p, s in zip([*prefixes, "m_axis"], [*sources, sink]):
            s.set_pause_generator(pauses(p))
    if hasattr(dut, "enable"):  # kernels at the accelerator's input wait for the RUN bit
        dut.enable.value = 1
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    cocotb.start_soon(watch_outputs(dut, output_ports(dut, prefixes)))
    fmts = m.formats()
    start = cocotb.utils.get_sim_time(unit="ns")
    names = list(dict.fromkeys(op.inputs))
    def stream(t, x):  # one beat per token (stream layout); the pixel bus carries the image as the DMA does
        x = x if t == m.input_name and op.op in layout.READS_PIXEL_BUS else layout.to_tokens(m, t, x)
        return x.astype(fmts[t].dtype).tobytes()
    beats = [[stream(t, x) for t, x in zip(names, per_input)] for per_input in images]  # TLAST per image
    for per_input in beats:
        for src, data in zip(sources, per_input):
            await src.send(AxiStreamFrame(data))
    mismatches = tokens = 0
    for per_input in images:
        frame = await receive(sink)
        env = dict(zip(names, per_input))
        ref = layout.unbatched(m, op.name, golden.run_op(m, op, [layout.batched(m, t, env[t]) for t in op.inputs],
                                                         fmts))
        ref = layout.to_tokens(m, op.name, ref)
        got = np.frombuffer(bytes(frame.tdata), op.out.dtype).reshape(ref.shape)
        mismatches += int((got != ref).any(-1).sum())
        tokens += len(layout.to_tokens(m, names[0], per_input[0]))  # input tokens
    cycles = (cocotb.utils.get_sim_time(unit="ns") - start) / CLOCK_NS
    # throughput without pauses: the same images again, back to back
    set_pauses([*sources, sink], rng, 0)
    start = cocotb.utils.get_sim_time(unit="ns")
    for per_input in beats:
        for src, data in zip(sources, per_input):
            await src.send(AxiStreamFrame(data))
    await receive(sink)
    first = (cocotb.utils.get_sim_time(unit="ns") - start) / CLOCK_NS
    for _ in images[1:]:
        await receive(sink)
    free = (cocotb.utils.get_sim_time(unit="ns") - start) / CLOCK_NS
    result = {"kernel": op.op, "arch": m.config.get("arch"), "layer": op.name, "images": len(images),
              "tokens": tokens, "mismatches": mismatches, "cycles_with_pauses": int(cycles),
              "pause": pause if pauses is None else "pattern",
              "first_image_cycles": int(first), "cycles_per_image": round(free / len(images), 1),
              "cycles_per_token": round(free / tokens, 2)}
    dut._log.info(json.dumps(result))
    if os.environ.get("VITFLOW_SIM_RESULTS") and pauses is None:  # collected by `vitflow sim`
        Path(os.environ["VITFLOW_SIM_RESULTS"], f"{op.op}-{op.name}.json").write_text(json.dumps(result))
    return result


async def check_case(dut, module: str, prefixes: list[str]) -> None:
    """The shared kernel test: the layer of rtl.cases.CASES[module], IMAGES random images plus edge images."""
    from vitflow.rtl.cases import CASES

    case = CASES[module]
    m, op = model_op(case.arch, case.layer)
    r = await check_images(dut, m, op, make_images(m, op, int(os.environ.get("IMAGES", "20"))), prefixes)
    assert r["mismatches"] == 0

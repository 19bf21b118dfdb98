"""image_tokens kernel RTL: the MobileViT input (1x8x8 uint8 pixels, 4 per 32-bit beat, C-order as the DMA sends
it) -> pixel tokens in stream layout (rtl/layout.py), under random backpressure on both ports, edge images
included; malformed frames (TLAST early / late) dropped whole and counted as patch_embed counts them; `enable`
holding the input; a reset in the middle of a frame and of its tokens. A 3-channel image (slow) checks the
per-channel planes."""

import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, output_ports, receive, set_pauses, watch_outputs

ARCH = "mobilevit"
PULSES = ("frame_begin", "frame_ok", "frame_error")


def model():
    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel

    return IntModel.load(ModelPaths.resolve(ARCH, None).model_file)


class TB:
    """Clock, pixel source, token sink (random pauses on both), and counters of the frame pulses."""

    def __init__(self, dut):
        self.dut, self.m = dut, model()
        self.shape = tuple(int(s) for s in os.environ.get("IMAGE_SHAPE", ",".join(map(str, self.m.input_shape)))
                           .split(","))
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.rng = random.Random(1)
        self.counts = dict.fromkeys(PULSES, 0)
        dut.enable.value = 1
        cocotb.start_soon(watch_outputs(dut, output_ports(dut, ["s_axis"]) + [(p, None) for p in PULSES]))
        cocotb.start_soon(self._count())

    async def _count(self):
        while True:  # a pulse is one cycle long: sampled once, between clock edges
            await FallingEdge(self.dut.clk)
            if self.dut.rst.value.is_resolvable and not int(self.dut.rst.value):
                for p in PULSES:
                    self.counts[p] += int(getattr(self.dut, p).value)

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        self.counts = dict.fromkeys(PULSES, 0)

    def images(self, n_random: int) -> np.ndarray:
        """All-zero, all-max, all-min pixels (the edge images of every kernel test), then random ones."""
        f = self.m.formats()[self.m.input_name]
        edge = [np.full(self.shape, v, f.dtype) for v in (0, f.max, f.min)]
        rand = np.random.default_rng(0).integers(f.min, f.max + 1, (n_random, *self.shape)).astype(f.dtype)
        return np.concatenate([np.stack(edge), rand])

    async def send(self, images):
        for img in images:
            await self.source.send(AxiStreamFrame(img.tobytes()))

    async def mismatches(self, images) -> int:
        """Receive one frame per image; the tokens that differ from the image in stream layout."""
        from vitflow.rtl import layout

        bad = 0
        for img in images:
            ref = layout.to_tokens(self.m, self.m.input_name, img)
            frame = await receive(self.sink)
            got = np.frombuffer(bytes(frame.tdata), np.uint8)
            assert got.size == ref.size, f"{got.size} pixels out, expected {ref.size}"
            bad += int((got.reshape(ref.shape) != ref).any(-1).sum())
        return bad


@cocotb.test()
async def images_under_backpressure(dut):
    tb = TB(dut)
    await tb.reset()
    images = tb.images(int(os.environ.get("IMAGES", "20")))
    set_pauses([tb.source, tb.sink], tb.rng, 0.3)
    start = cocotb.utils.get_sim_time(unit="ns")
    cocotb.start_soon(tb.send(images))
    bad = await tb.mismatches(images)
    cycles = (cocotb.utils.get_sim_time(unit="ns") - start) / CLOCK_NS
    await ClockCycles(dut.clk, 2)
    assert tb.counts == {"frame_begin": len(images), "frame_ok": len(images), "frame_error": 0}, tb.counts
    # throughput without pauses: the same images back to back
    set_pauses([tb.source, tb.sink], tb.rng, 0)
    start = cocotb.utils.get_sim_time(unit="ns")
    cocotb.start_soon(tb.send(images))
    await receive(tb.sink)
    first = (cocotb.utils.get_sim_time(unit="ns") - start) / CLOCK_NS
    for _ in images[1:]:
        await receive(tb.sink)
    free = (cocotb.utils.get_sim_time(unit="ns") - start) / CLOCK_NS
    tokens = len(images) * tb.shape[1] * tb.shape[2]
    result = {"kernel": "image_tokens", "arch": tb.m.config.get("arch"), "layer": tb.m.input_name,
              "images": len(images), "tokens": tokens,
              "mismatches": bad, "cycles_with_pauses": int(cycles), "pause": 0.3, "first_image_cycles": int(first),
              "cycles_per_image": round(free / len(images), 1), "cycles_per_token": round(free / tokens, 2)}
    dut._log.info(json.dumps(result))
    if os.environ.get("VITFLOW_SIM_RESULTS") and "IMAGE_SHAPE" not in os.environ:  # collected by `vitflow sim`
        Path(os.environ["VITFLOW_SIM_RESULTS"], "image_tokens.json").write_text(json.dumps(result))
    assert bad == 0


@cocotb.test()
async def malformed_frames_enable_and_reset(dut):
    tb = TB(dut)
    await tb.reset()
    good = tb.images(3)[3:]
    n = good[0].size
    # enable low: nothing is taken; raised: the waiting frame goes through
    dut.enable.value = 0
    cocotb.start_soon(tb.send(good[:1]))
    await ClockCycles(dut.clk, 30)
    assert tb.counts["frame_begin"] == 0 and tb.sink.empty()
    dut.enable.value = 1
    assert await tb.mismatches(good[:1]) == 0
    # TLAST early and TLAST late (3 beats over): both dropped whole and flagged, the frames around them unharmed
    set_pauses([tb.source, tb.sink], tb.rng, 0.2)
    await tb.send(good[1:2])
    await tb.source.send(AxiStreamFrame(bytes(n // 2)))
    await tb.source.send(AxiStreamFrame(bytes(n + 12)))
    await tb.send(good[2:])
    assert await tb.mismatches(good[1:]) == 0
    await ClockCycles(dut.clk, 40)
    assert tb.sink.empty(), "a malformed frame came out"
    assert tb.counts == {"frame_begin": 5, "frame_ok": 3, "frame_error": 2}, tb.counts
    # a reset in the middle of a frame's pixels, then one in the middle of its tokens: nothing of either comes out
    for wait in (3, n // 4 + 6):
        set_pauses([tb.source, tb.sink], tb.rng, 0.5 if wait == 3 else 0)
        await tb.send(good[:1])
        await ClockCycles(dut.clk, wait)
        await tb.reset()
        tb.sink.clear()
        set_pauses([tb.source, tb.sink], tb.rng, 0.2)
        await tb.send(good)
        assert await tb.mismatches(good) == 0
        await ClockCycles(dut.clk, 40)
        assert tb.sink.empty(), "a frame from before the reset came out"
        assert tb.counts == {"frame_begin": 3, "frame_ok": 3, "frame_error": 0}, tb.counts


def _params(channels: int | None = None) -> dict:
    from vitflow.rtl.gen import image_tokens_params

    p = image_tokens_params(model())
    return p if channels is None else {**p, "C": channels}


def test_image_tokens():
    from sim import run

    run("image_tokens", "test_image_tokens", _params(), {"IMAGES": "20"})


@pytest.mark.slow
def test_image_tokens_three_channels():
    from sim import run

    p = _params(3)
    run("image_tokens", "test_image_tokens", p, {"IMAGES": "20", "IMAGE_SHAPE": f"3,{p['H']},{p['W']}"})


def test_image_tokens_lint_clean():
    from vitflow.rtl.lint import lint

    for p in (_params(), _params(3)):
        assert lint("image_tokens", p) == [], p

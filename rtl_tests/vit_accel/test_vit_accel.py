"""The whole-model RTL top `vit_accel` vs the golden model, for each shipped architecture (vit, mobilevit,
swin) or the model files named in $VITFLOW_TOP_MODELS: test images and edge images under random AXI-Stream
pauses on both sides, back-to-back frames, malformed frames, a reset in the middle of a frame, the AXI-Lite
registers, and throughput without pauses."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, output_ports, receive, set_pauses, watch_outputs


def top_models() -> dict[str, Path]:
    """The model files whose tops are tested, by name: $VITFLOW_TOP_MODELS (paths joined by os.pathsep; set by
    `vitflow sim --model`), else the shipped models of every architecture."""
    from vitflow.host.backends import ModelPaths
    from vitflow.model.config import ARCHS

    named = os.environ.get("VITFLOW_TOP_MODELS")
    files = [Path(f) for f in named.split(os.pathsep)] if named else [ModelPaths.resolve(a, None).model_file
                                                                     for a in ARCHS]
    return {f.stem: f for f in files}


def model():
    """The model of this simulation run ($VITFLOW_TOP_MODEL, set by run_top; default the shipped vit)."""
    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel

    return IntModel.load(os.environ.get("VITFLOW_TOP_MODEL") or ModelPaths.resolve("vit", None).model_file)


def sample_images(m, count: int) -> np.ndarray:
    """Edge images (all-zero, all-max, checkerboard of min/max) then the first `count` digits test images
    (random images for a model of another input shape)."""
    from vitflow.model.datasets import digits

    shape = tuple(m.input_shape)
    board = (np.indices(shape).sum(0) % 2 * 255).astype(np.uint8)
    edge = np.stack([np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8), board])
    test = digits().x_test
    if test.shape[1:] != shape:  # a model of another input size: random images
        test = np.random.default_rng(0).integers(0, 256, (count, *shape), dtype=np.uint8)
    return np.concatenate([edge, test[:count]])


class Harness:
    """Clock, reset, pixel source, logit sink and AXI-Lite master around the DUT."""

    def __init__(self, dut):
        from vitflow.rtl.registers import REGISTERS

        self.dut, self.regs = dut, REGISTERS
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.m = model()
        self.rng = random.Random(1)
        axil = [("s_axil_awready", None), ("s_axil_wready", None), ("s_axil_bvalid", None),
                ("s_axil_bresp", "s_axil_bvalid"), ("s_axil_arready", None), ("s_axil_rvalid", None),
                ("s_axil_rdata", "s_axil_rvalid"), ("s_axil_rresp", "s_axil_rvalid")]
        cocotb.start_soon(watch_outputs(dut, output_ports(dut, ["s_axis"]) + axil))

    async def reset(self, run: bool = True):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)
        if run:
            await self.write("CTRL", 1)

    async def read(self, reg: str) -> int:
        return await self.axil.read_dword(self.regs[reg])

    async def write(self, reg: str, value: int):
        await self.axil.write_dword(self.regs[reg], value)

    def pauses(self, p: float):
        set_pauses((self.source, self.sink), self.rng, p)

    async def send(self, images: np.ndarray):
        for img in images:
            await self.source.send(AxiStreamFrame(img.astype(np.uint8).tobytes()))

    async def receive_batch(self, n: int) -> np.ndarray:
        """The logits of a batch of n images: one output frame (TLAST after the last image's last word)."""
        frame = await receive(self.sink)
        return np.frombuffer(bytes(frame.tdata), "<i4").reshape(n, -1)

    async def receive(self, n: int) -> np.ndarray:
        out = []
        for _ in range(n):
            frame = await receive(self.sink)
            out.append(np.frombuffer(bytes(frame.tdata), "<i4"))
        return np.stack(out)

    def mismatches(self, images, logits) -> int:
        from vitflow.quant import golden

        ref = golden.run(self.m, images)
        assert logits.shape == ref.shape, f"{logits.shape} logits, expected {ref.shape}"
        return int((logits != ref).any(-1).sum())


@cocotb.test()
async def images_under_backpressure(dut):
    h = Harness(dut)
    await h.reset()
    assert await h.read("IMAGE_BYTES") == int(np.prod(h.m.input_shape))
    from vitflow.quant.golden import tensor_shapes

    assert await h.read("RESULT_WORDS") == tensor_shapes(h.m)[h.m.output][0]
    assert await h.read("MODEL_ID") == h.m.identity()
    assert await h.read("BATCH") == 1
    images = sample_images(h.m, int(os.environ.get("IMAGES", "20")))
    h.pauses(0.3)
    cocotb.start_soon(h.send(images))
    logits = await h.receive(len(images))
    bad = h.mismatches(images, logits)
    await ClockCycles(dut.clk, 20)
    assert await h.read("FRAMES_IN") == len(images)
    assert await h.read("FRAMES_OUT") == len(images)
    assert await h.read("ERRORS") == 0
    assert await h.read("STATUS") == 0b11  # idle, done
    assert h.sink.empty(), "more results than images"
    dut._log.info(f"{len(images)} images, {bad} mismatching")
    assert bad == 0
    _result("backpressure", {"images": len(images), "mismatches": bad, "pause": 0.3})


@cocotb.test()
async def malformed_frames_and_reset(dut):
    h = Harness(dut)
    await h.reset()
    n = int(np.prod(h.m.input_shape))
    good = sample_images(h.m, 4)[3:]
    # TLAST early and TLAST late: both dropped and flagged, the frames around them unharmed
    h.pauses(0.2)
    await h.send(good[:1])
    await h.source.send(AxiStreamFrame(bytes(n // 2)))
    await h.source.send(AxiStreamFrame(bytes(n + 12)))
    await h.send(good[1:])
    logits = await h.receive(len(good))
    assert h.mismatches(good, logits) == 0
    await ClockCycles(dut.clk, 20)
    assert await h.read("FRAMES_DROPPED") == 2
    assert await h.read("ERRORS") == 1
    await h.write("ERRORS", 1)  # write 1 to clear
    assert await h.read("ERRORS") == 0
    # a reset in the middle of a frame (and of results in flight), then clean frames
    await h.send(good[:1])
    await ClockCycles(dut.clk, 40)
    await h.source.send(AxiStreamFrame(good[1].tobytes()))
    await ClockCycles(dut.clk, 4)
    h.source.clear()  # cocotbext-axi keeps queued frames through a reset: drop what the DMA would not send
    await h.reset()
    assert await h.read("FRAMES_IN") == 0
    h.sink.clear()
    await h.send(good)
    logits = await h.receive(len(good))
    assert h.mismatches(good, logits) == 0
    await ClockCycles(dut.clk, 200)
    assert h.sink.empty(), "a frame from before the reset came out"
    assert await h.read("FRAMES_OUT") == len(good)


@cocotb.test()
async def batches_under_backpressure(dut):
    """DMA framing: BATCH images in one input transfer (TLAST on its last beat only) and their results in one
    output transfer (TLAST on the last word of the last image), under pauses on both sides; a batch with its
    TLAST misplaced is dropped image by image as patch_embed's frame check finds it; CTRL.RESET drops what is
    in flight, and the next batch is whole."""
    h = Harness(dut)
    await h.reset()
    images = sample_images(h.m, 9)
    h.pauses(0.3)
    for batch in (4, 8, 1):
        await h.write("BATCH", batch)
        assert await h.read("BATCH") == batch
        chunk = images[:batch]
        await h.source.send(AxiStreamFrame(chunk.astype(np.uint8).tobytes()))
        assert h.mismatches(chunk, await h.receive_batch(batch)) == 0, f"batch of {batch}"
    # a transfer of 3 whole images while BATCH is 4: its TLAST ends the batch early, its results end with it
    await h.write("BATCH", 4)
    await h.source.send(AxiStreamFrame(images[:3].astype(np.uint8).tobytes()))
    assert h.mismatches(images[:3], await h.receive_batch(3)) == 0
    # a transfer one beat short of 4 images, the sink stalled: the last image is dropped and flagged, the
    # other three wait in the accelerator for a batch end that never comes; CTRL.RESET drops them
    await h.write("ERRORS", 1)
    dropped = await h.read("FRAMES_DROPPED")
    set_pauses([h.sink], h.rng, 0)
    h.sink.pause = True
    await h.source.send(AxiStreamFrame(images[:4].astype(np.uint8).tobytes()[:-4]))
    await h.source.wait()
    await ClockCycles(dut.clk, 4000)  # patch_embed takes ~400 cycles per image
    assert await h.read("FRAMES_DROPPED") == dropped + 1
    assert await h.read("ERRORS") == 1
    await h.write("CTRL", 0b101)  # RUN + RESET
    await ClockCycles(dut.clk, 4)
    h.pauses(0.3)
    assert h.sink.empty()
    await h.source.send(AxiStreamFrame(images[4:8].astype(np.uint8).tobytes()))
    assert h.mismatches(images[4:8], await h.receive_batch(4)) == 0
    _result("batches", {"batch_sizes": [4, 8, 1, 3, 4], "batch_mismatches": 0})


@cocotb.test()
async def throughput(dut):
    """Back-to-back images without pauses: steady-state cycles per image and single-image latency."""
    h = Harness(dut)
    await h.reset()
    images = sample_images(h.m, 12)[3:]
    h.pauses(0)
    await h.send(images[:1])
    await h.receive(1)
    latency = await h.read("LATENCY")
    await h.write("CTRL", 0b11)  # clear counters, keep running
    cocotb.start_soon(h.send(images))
    times = []
    for _ in images:
        await receive(h.sink)
        times.append(cocotb.utils.get_sim_time(unit="ns") / CLOCK_NS)
    busy = await h.read("BUSY_CYCLES")
    per_image = (times[-1] - times[0]) / (len(images) - 1)
    # the cycle model's pace of this top (written beside it by write_top), where the caller names it
    model = json.loads(Path(os.environ["VITFLOW_TOP_CYCLE_MODEL"]).read_text())["cycles_per_image"] \
        if os.environ.get("VITFLOW_TOP_CYCLE_MODEL") else None
    dut._log.info(f"latency {latency} cycles, {per_image:.1f} cycles/image (cycle model: {model})")
    _result("throughput", {"latency_cycles": latency, "cycles_per_image": round(per_image, 1),
                           "busy_cycles": busy, "throughput_images": len(images), "cycles_per_image_model": model})
    assert model is None or abs(model / per_image - 1) <= 0.03, f"cycle model {model}, simulated {per_image:.1f}"


def _result(part: str, values: dict):
    """Merged into $VITFLOW_SIM_RESULTS/top-<model identity>.json for `vitflow sim`."""
    if not os.environ.get("VITFLOW_SIM_RESULTS"):
        return
    m = model()
    path = Path(os.environ["VITFLOW_SIM_RESULTS"], f"top-{m.identity():08x}.json")
    data = json.loads(path.read_text()) if path.exists() else {"kernel": "vit_accel", "layer": "whole model",
                                                                "arch": m.arch, "model_id": f"{m.identity():08x}"}
    data.update(values)
    path.write_text(json.dumps(data))


def run_top(model_file: Path, images: int, gates: bool = False):
    """The generated top of the model file through this testbench; `gates`: its gate-level netlist instead of
    the RTL (rtl/gate_level.py: the xc7 cells of synth_xilinx with Yosys' models)."""
    from sim import run

    from vitflow.quant.model_file import IntModel
    from vitflow.rtl import gate_level
    from vitflow.rtl.planner import top_plan_of
    from vitflow.rtl.rtlsim import top_dir
    from vitflow.rtl.top import model_file as cycle_model
    from vitflow.rtl.top import write_top

    m = IntModel.load(model_file)
    # `vitflow sim --cycles N`, or a plan the planner's Yosys check made slower (rtl/report.py): path -> budget
    cycles = json.loads(os.environ.get("VITFLOW_TOP_CYCLES") or "{}").get(str(Path(model_file).resolve()))
    top, _ = write_top(m, top_dir(m, cycles), top_plan_of(cycles))
    env = {"IMAGES": str(images), "VITFLOW_TOP_MODEL": str(Path(model_file).resolve()),
           "VITFLOW_TOP_CYCLE_MODEL": str(cycle_model(top))}
    sources = {"netlist": [gate_level.netlist(top, top.parent / "gates"), gate_level.cell_models()]} if gates \
        else {"generated": [top]}
    run("vit_accel", "test_vit_accel", {}, env, **sources)


@pytest.mark.parametrize("name", list(top_models()))
def test_vit_accel(name):  # on Icarus trimmed (rtl_tests/conftest.py, ICARUS_TRIMMED)
    run_top(top_models()[name], int(os.environ.get("IMAGES", "20")))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(top_models()))
def test_vit_accel_whole_test_set(simulator, name):
    from vitflow.model.datasets import digits

    if simulator == "icarus":
        pytest.skip("the whole test split takes Icarus over 20 minutes; Verilator runs it, Icarus the edge images")
    run_top(top_models()[name], len(digits().x_test))


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in top_models() if n not in ("mobilevit", "swin")])  # hours each
def test_vit_accel_gate_level(simulator, name):
    """The same testbench on the netlist that synthesis makes of the top (rtl/gate_level.py): golden logits on
    the edge images and 20 test images under backpressure, malformed frames, batches, the cycle model."""
    if simulator == "icarus":
        pytest.skip("a gate-level top takes Icarus hours; Verilator runs it")
    run_top(top_models()[name], int(os.environ.get("IMAGES", "20")), gates=True)

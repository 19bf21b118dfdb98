"""The board rung without a board: host/board.py, the PYNQ driver, unchanged, against the simulated vit_accel
through rtl/pynq_sim.py's stand-in for the pynq calls it makes (overlay, DMA transfers, registers). Batches
under backpressure on both DMA streams == golden; a stalled S2MM side times out, the driver reports the
counters and resets, and the next batch is right; a bitstream of another model is refused."""

from __future__ import annotations

import os
import random

import cocotb
import pytest
from cocotb.task import bridge

from vitflow.host.backends import ModelPaths, UserError
from vitflow.host.board import Board, BoardError
from vitflow.quant import golden
from vitflow.quant.model_file import IntModel
from vitflow.rtl.rtlsim import start


def model() -> IntModel:
    return IntModel.load(ModelPaths.resolve("vit", None).model_file)


def sample_images(m, count):
    from test_vit_accel import sample_images  # the top's testbench, found on the simulator's PYTHONPATH

    return sample_images(m, count)


def mismatching(m, images, logits) -> int:
    return int((golden.run(m, images) != logits).any(-1).sum())


@cocotb.test()
async def batches_match_golden(dut):
    pynq = await start(dut)
    m = model()
    images = sample_images(m, int(os.environ.get("IMAGES", "20")))
    from stream import set_pauses

    set_pauses([pynq.source, pynq.sink], random.Random(2), 0.3)

    def drive():
        board = Board(m, os.environ["TOP"], pynq=pynq, timeout_s=600, max_batch=8)  # 3 transfers for 23
        logits = board.run(images)
        return logits, board.counters()

    logits, counters = await bridge(drive)()
    bad = mismatching(m, images, logits)
    dut._log.info(f"{len(images)} images in batches of 8 through the driver, {bad} mismatching; {counters}")
    assert bad == 0
    assert counters["FRAMES_OUT"] == len(images) and counters["ERRORS"] == 0


@cocotb.test()
async def stalled_sink_times_out_and_recovers(dut):
    pynq = await start(dut)
    m = model()
    images = sample_images(m, 4)[3:]
    board = await bridge(lambda: Board(m, os.environ["TOP"], pynq=pynq, timeout_s=1.0))()
    pynq.sink.pause = True  # S2MM never takes a word: the results back up into the accelerator

    def stalled():
        try:
            board.run(images)
        except BoardError as e:
            return str(e)
        return None

    message = await bridge(stalled)()
    dut._log.info(message)
    assert message and "DMA timeout" in message and "FRAMES_IN" in message
    pynq.sink.pause = False
    board.timeout_s = 600
    logits = await bridge(lambda: board.run(images))()
    assert mismatching(m, images, logits) == 0


@cocotb.test()
async def bitstream_of_another_model_refused(dut):
    pynq = await start(dut)
    other = IntModel.load(ModelPaths.resolve("swin", None).model_file)  # same image size, another model

    def open_other():
        try:
            Board(other, os.environ["TOP"], pynq=pynq)
        except UserError as e:
            return str(e)
        return None

    message = await bridge(open_other)()
    assert message and "another model" in message and "MODEL_ID" in message


def run_board(simulator: str, images: int, **env) -> None:
    if simulator == "icarus":
        pytest.skip("the driver's rung runs on Verilator; Icarus covers the top's own testbench")
    from sim import run

    from vitflow.rtl.rtlsim import top_dir
    from vitflow.rtl.top import write_top

    top, _ = write_top(model(), top_dir(model()))
    run("vit_accel", "test_board", {}, {"TOP": str(top), "IMAGES": str(images), **env}, generated=[top])


def test_board_driver(simulator):
    run_board(simulator, int(os.environ.get("IMAGES", "20")))


@pytest.mark.slow
def test_board_driver_whole_test_set(simulator):
    """The driver on the whole digits test split (and the edge images) against the simulated top."""
    from vitflow.model.datasets import digits

    run_board(simulator, len(digits().x_test), COCOTB_TEST_FILTER="batches_match_golden")

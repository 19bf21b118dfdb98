"""The board rung without a board: host/board.py, the PYNQ driver, unchanged, against the simulated vit_accel
through rtl/pynq_sim.py's stand-in, as strict as pynq and the AXI DMA (rtl/dma_sim.py). Batches under
backpressure on both DMA streams == golden. Each fault - a result stream that stops short, a stalled sink, a
receive overrun, a short receive, a DMA error - ends in one BoardError within its timeout, and the next batch
is right. The stand-in refuses what pynq and the DMA refuse: an oversize or unaligned transfer, data with no
receive armed, data not flushed; stop() returns only once the channel halted. A bitstream of another model
is refused. Every test is bounded in simulated time, so a driver call that spins forever fails it."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.task import bridge

from vitflow.host import axi_dma
from vitflow.host.backends import ModelPaths, UserError
from vitflow.host.board import Board, BoardError
from vitflow.quant import golden
from vitflow.quant.model_file import IntModel
from vitflow.rtl.rtlsim import start

BOUND = {"timeout_time": 100, "timeout_unit": "ms"}  # simulated time; the vit top runs ~18 us per image


def model() -> IntModel:
    return IntModel.load(ModelPaths.resolve("vit", None).model_file)


def sample_images(m, count):
    from test_vit_accel import sample_images  # the top's testbench, found on the simulator's PYTHONPATH

    return sample_images(m, count)


def mismatching(m, images, logits) -> int:
    return int((golden.run(m, images) != logits).any(-1).sum())


@cocotb.test(**BOUND)
async def batches_match_golden(dut):
    pynq = await start(dut)
    m = model()
    images = sample_images(m, int(os.environ.get("IMAGES", "20")))
    from stream import set_pauses

    board = await bridge(lambda: Board(m, os.environ["TOP"], pynq=pynq, timeout_s=600, max_batch=8))()
    set_pauses([pynq.source, pynq.sink], random.Random(2), 0.3)  # 3 transfers for 23 images, paused streams

    def drive():
        return board.run(images), board.counters()

    logits, counters = await bridge(drive)()
    bad = mismatching(m, images, logits)
    dut._log.info(f"{len(images)} images in batches of 8 through the driver, {bad} mismatching; {counters}")
    assert bad == 0
    assert counters["FRAMES_OUT"] == len(images) and counters["ERRORS"] == 0


async def fault_then_recovery(dut, fault, expect: str, timeout_s: float = 60) -> None:
    """Open the board, `fault(board, pynq)` (returns the undo), run 3 images: one BoardError naming `expect`
    (a fault that is not a timeout is reported before `timeout_s`, wall clock); undo, and the same images again
    == golden."""
    pynq = await start(dut)
    m = model()
    images = sample_images(m, 3)[3:]  # 3 digits
    board = await bridge(lambda: Board(m, os.environ["TOP"], pynq=pynq, timeout_s=timeout_s))()
    undo = fault(board, pynq)

    def faulty():
        try:
            board.run(images)
        except BoardError as e:
            return str(e)
        return None

    message = await bridge(faulty)()
    dut._log.info(message)
    assert message and expect in message and "FRAMES_IN" in message and "were reset" in message
    undo()
    board.timeout_s = 600
    logits = await bridge(lambda: board.run(images))()
    assert mismatching(m, images, logits) == 0


def result_words(board: Board, delta: int):
    """The driver's receive buffer `delta` words per image longer than the accelerator's results."""
    board.words += delta
    board._buffers.clear()

    def undo():
        board.words -= delta
        board._buffers.clear()
    return undo


@cocotb.test(**BOUND)
async def result_stream_stopping_short_recovers(dut):
    """The accelerator loses the images in flight (its datapath reset once the images are sent): the results
    never reach TLAST, so S2MM can never halt (stop does not end it); the driver times out, soft-resets the DMA,
    resets the accelerator."""
    def fault(board, pynq):
        send = board.dma.sendchannel
        transfer = send.transfer

        def transfer_then_lose(buf):
            transfer(buf)
            while not board.dma.read(axi_dma.MM2S + axi_dma.DMASR) & axi_dma.IDLE:
                pass  # bounded by the test's own timeout
            board.write("CTRL", 5)  # RUN | RESET: drops every image in flight

        send.transfer = transfer_then_lose

        def undo():
            del send.transfer
        return undo

    await fault_then_recovery(dut, fault, "DMA timeout receiving results", timeout_s=2)


@cocotb.test(**BOUND)
async def stalled_sink_recovers(dut):
    """S2MM never takes a word: the results back up into the accelerator, MM2S cannot finish its transfer."""
    def fault(board, pynq):
        pynq.sink.pause = True

        def undo():
            pynq.sink.pause = False
        return undo

    await fault_then_recovery(dut, fault, "DMA timeout", timeout_s=1)


@cocotb.test(**BOUND)
async def receive_overrun_recovers(dut):
    """The receive buffer one word per image shorter than the results: the DMA's internal error, at once."""
    await fault_then_recovery(dut, lambda board, pynq: result_words(board, -1), "internal error")


@cocotb.test(**BOUND)
async def short_receive_recovers(dut):
    """The results end (TLAST) before the buffer is full: `transferred` says so; stale words are not returned."""
    await fault_then_recovery(dut, lambda board, pynq: result_words(board, 1), "received 120 of 132 result bytes")


@cocotb.test(**BOUND)
async def dma_error_recovers(dut):
    """The memory port refuses the receive transfer (slave error): reported at once, not as a timeout."""
    def fault(board, pynq):
        pynq.dma_model.fail_next_transfer(axi_dma.SLAVE_ERROR)
        return lambda: None

    await fault_then_recovery(dut, fault, "slave error")


@cocotb.test(**BOUND)
async def standin_refuses_what_the_dma_refuses(dut):
    pynq = await start(dut)
    m = model()
    image = sample_images(m, 1)[:1].reshape(1, -1).astype(np.uint8)

    def rules():
        board = Board(m, os.environ["TOP"], pynq=pynq, timeout_s=600)
        dma, send, recv = board.dma, board.dma.sendchannel, board.dma.recvchannel
        seen = {}
        buf = pynq.allocate((1, image.size), np.uint8)
        try:
            send.transfer(buf, start=1)
        except RuntimeError as e:
            seen["unaligned"] = "aligned" in str(e)
        # the device sees what the CPU flushed, the CPU what the device wrote once it invalidates
        buf[:] = image
        seen["unflushed unseen"] = pynq.memory.load(buf.physical_address, buf.nbytes) == bytes(buf.nbytes)
        buf.flush()
        pynq.memory.store(buf.physical_address, bytes(buf.nbytes))
        seen["uninvalidated unseen"] = bool((buf == image).all())
        buf.invalidate()
        seen["invalidated seen"] = not buf.any()
        # an image sent with no receive armed: its results wait in the accelerator, refused by S2MM
        buf[:] = image
        board.write("BATCH", 1)
        send.transfer(buf)
        for _ in range(3000):  # until the result is offered (the image's latency), and a while after
            if pynq.sink.refused > 100:
                break
            dma.read(axi_dma.S2MM + axi_dma.DMASR)  # one DMA register read: MMIO_CYCLES
        seen["refused"] = pynq.sink.refused > 100 and board.read("FRAMES_OUT") == 0
        # stop() asked while a receive is under way: S2MM halts only once that transfer has ended
        out = pynq.allocate((1, board.words), np.int32)
        recv.transfer(out)
        dma.write(axi_dma.S2MM + axi_dma.DMACR, 0)
        recv.stop()  # returns: the result that waited ends the transfer (TLAST)
        seen["halted at the end"] = not recv.running and dma.read(axi_dma.S2MM + axi_dma.LENGTH) == out.nbytes
        out.invalidate()  # (wait() refuses a stopped channel, as pynq's does)
        seen["result"] = (np.array(out, np.int64) == golden.run(m, image.reshape(1, *m.input_shape))).all()
        recv.start()
        pynq.dma_model.fail_next_transfer(axi_dma.DECODE_ERROR)
        send.transfer(buf)
        try:
            send.wait()
        except RuntimeError:
            seen["wait raises"] = True
        return seen

    seen = await bridge(rules)()
    dut._log.info(seen)
    assert seen == dict.fromkeys(["unaligned", "unflushed unseen", "uninvalidated unseen", "invalidated seen",
                                  "refused", "halted at the end", "result", "wait raises"], True)


@cocotb.test(**BOUND)
async def transfer_length_limit_from_the_hwh(dut):
    """A DMA built with an 8-bit length register (255 bytes, from its .hwh): pynq refuses a longer transfer;
    the driver splits a batch into transfers that fit (3 images of 64 bytes each)."""
    pynq = await start(dut)
    m = model()
    images = sample_images(m, 7)[:7]

    def drive():
        board = Board(m, os.environ["SHORT_DMA_TOP"], pynq=pynq, timeout_s=600)
        refused = None
        try:
            board.dma.sendchannel.transfer(pynq.allocate((256,), np.uint8))
        except ValueError as e:
            refused = str(e)
        return board.max_batch, refused, board.run(images)

    max_batch, refused, logits = await bridge(drive)()
    assert max_batch == 3 and refused and "exceeds the maximum DMA buffer size 255" in refused
    assert mismatching(m, images, logits) == 0


@cocotb.test(**BOUND)
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

    from vitflow.rtl.bitstream import write_standin_hwh
    from vitflow.rtl.rtlsim import top_dir
    from vitflow.rtl.top import write_top

    top, _ = write_top(model(), top_dir(model()))
    write_standin_hwh(model(), top)
    short = Path(top).with_name("short_dma.v")  # the same top, opened through a .hwh with a shorter DMA
    shutil.copyfile(top, short)
    write_standin_hwh(model(), short, length_bits=8)
    run("vit_accel", "test_board", {}, {"TOP": str(top), "SHORT_DMA_TOP": str(short), "IMAGES": str(images), **env},
        generated=[top])


def test_board_driver(simulator):
    run_board(simulator, int(os.environ.get("IMAGES", "20")))


@pytest.mark.slow
def test_board_driver_whole_test_set(simulator):
    """The driver on the whole digits test split (and the edge images) against the simulated top."""
    from vitflow.model.datasets import digits

    run_board(simulator, len(digits().x_test), COCOTB_TEST_FILTER="batches_match_golden")

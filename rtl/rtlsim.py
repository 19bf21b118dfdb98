"""The rtlsim backend: the board driver (host/board.py) unchanged, against vit_accel simulated by Verilator with
the pynq stand-in of rtl/pynq_sim.py. `logits(model, images)` builds the top (cached), runs this module's
cocotb test in the simulator, and reads back the logits and the accelerator's own counters."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from unittest.mock import patch

import numpy as np

from ..quant.model_file import IntModel
from .simulate import sim_build

CLOCK_NS = 10


def top_dir(m: IntModel, cycles: int | None = None) -> Path:
    """Where the simulated top of a model and its ROM files are written: one folder per model identity (and
    plan, when a cycle budget is given), so the testbenches and this backend share one Verilator build."""
    return sim_build("vit_accel", f"gen-{m.identity():08x}" + (f"-c{cycles}" if cycles else ""))


async def start(dut):
    """Clock and reset of a vit_accel under test; returns the pynq stand-in bound to it."""
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import ClockCycles

    from .pynq_sim import SimPynq

    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    pynq = SimPynq(dut)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return pynq


def _cocotb_test():
    import cocotb

    @cocotb.test()
    async def rtlsim(dut):
        """Run by `logits`: images from $RTLSIM_IO through the board driver, logits and counters back there."""
        from cocotb.task import bridge

        from ..host.board import Board

        pynq = await start(dut)
        io = Path(os.environ["RTLSIM_IO"])
        m = IntModel.load(os.environ["RTLSIM_MODEL"])
        images = np.load(io / "images.npy")

        def drive():
            board = Board(m, os.environ["RTLSIM_TOP"], pynq=pynq, timeout_s=float(os.environ["RTLSIM_TIMEOUT"]))
            logits = board.run(images)
            return logits, board.counters(), board.cycles_per_image()

        logits, counters, per_image = await bridge(drive)()
        np.save(io / "logits.npy", logits)
        (io / "counters.json").write_text(json.dumps({**counters, "cycles_per_image": per_image}))

    return rtlsim


if os.environ.get("RTLSIM_IO"):  # inside the simulator only: cocotb collects the test from this module
    rtlsim = _cocotb_test()


def logits(model_file: Path, images: np.ndarray, timeout_s: float = 600.0) -> tuple[np.ndarray, dict]:
    """int64 logits of uint8 images [N, C, H, W] from the simulated accelerator, and its counters (with the
    steady-state cycles per image of Board.cycles_per_image)."""
    from .bitstream import write_standin_hwh
    from .simulate import run
    from .top import write_top

    m = IntModel.load(model_file)
    top = write_top(m, top_dir(m))[0]
    write_standin_hwh(m, top)  # the overlay's cells, as the board design names them
    log = top.parent / "rtlsim.log"  # Verilator's and cocotb's output, kept out of the command's own
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "images.npy", np.asarray(images, np.uint8))
        env = {"RTLSIM_IO": tmp, "RTLSIM_MODEL": str(Path(model_file).resolve()), "RTLSIM_TOP": str(top),
               "RTLSIM_TIMEOUT": str(timeout_s)}
        with patch.dict(os.environ, env):  # the runner passes os.environ on to the simulator, over extra_env
            run("vit_accel", "vitflow.rtl.rtlsim", {}, env, generated=[top], test_dir=Path(tmp), log_file=log)
        out = Path(tmp) / "logits.npy"
        if not out.is_file():
            raise RuntimeError(f"the rtlsim run ended without results: see {log}")
        return np.load(out), json.loads((Path(tmp) / "counters.json").read_text())

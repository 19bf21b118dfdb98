"""A stand-in for exactly the slice of the pynq API that host/board.py uses, as strict as pynq and the AXI DMA,
backed by the cocotb simulation of vit_accel: the driver runs unchanged in a thread (cocotb.task.bridge) and
every call it makes - register reads and writes, DMA transfers, polls - runs the simulator through
cocotb.task.resume.

What pynq does is done here the same way (pynq 3.x `pynq.lib.dma._SDMAChannel`, `DefaultIP`, `allocate`):
the overlay's cells and the DMA's parameters come from the .hwh beside the bitstream; a channel starts when the
DMA is opened; `transfer` refuses a stopped channel, a busy one, a length over 2**c_sg_length_width - 1 and an
address not aligned to the memory bus, and flushes an outgoing buffer; `wait` spins until idle, raises on the
error bits, invalidates an incoming buffer and sets `transferred`; `stop` and `start` spin on the halted bit
with no timeout (a channel whose transfer cannot end never halts: the driver must not call them then). The
DMA core itself is rtl/dma_sim.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from cocotb.task import resume
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from ..host.axi_dma import (
    ADDRESS,
    DECODE_ERROR,
    DMACR,
    DMASR,
    ERRORS,
    HALTED,
    IDLE,
    INTERNAL_ERROR,
    LENGTH,
    MM2S,
    RUN,
    S2MM,
    SLAVE_ERROR,
)
from .dma_sim import AxiDmaModel, Memory

DMA_VLNV = "xilinx.com:ip:axi_dma:"


class Buffer(np.ndarray):
    """pynq.allocate's buffer: the CPU's (cached) view of a block of memory at `physical_address`. The device
    sees what was flushed; the CPU sees what the device wrote after an invalidate."""

    physical_address = 0
    memory: Memory | None = None

    def __array_finalize__(self, obj):
        self.physical_address = getattr(obj, "physical_address", 0)
        self.memory = getattr(obj, "memory", None)

    def flush(self):
        self.memory.store(self.physical_address, self.tobytes())

    def invalidate(self):
        data = self.memory.load(self.physical_address, self.nbytes)
        self.reshape(-1).view(np.uint8)[:] = np.frombuffer(data, np.uint8)

    def freebuffer(self):
        self.memory.free(self.physical_address)


def read_hwh(path: Path) -> dict[str, dict]:
    """Cell name -> {"vlnv": ..., "parameters": {name: value}} of the MODULE entries of a .hwh."""
    cells = {}
    for module in ET.parse(path).getroot().iter("MODULE"):
        params = {p.get("NAME"): p.get("VALUE") for p in module.iter("PARAMETER")}
        cells[module.get("INSTANCE")] = {"vlnv": module.get("VLNV", ""), "parameters": params}
    return cells


class Channel:
    """One simple-mode DMA channel as pynq drives it (see the module's docstring)."""

    def __init__(self, dma: DMA, base: int, max_size: int, align: int):
        self.dma, self.base, self.max_size, self.align = dma, base, max_size, align
        self.outgoing = base == MM2S
        self.transferred, self._active, self._first = 0, None, True
        self.start()

    def _status(self) -> int:
        return self.dma.read(self.base + DMASR)

    @property
    def running(self) -> bool:
        return not self._status() & HALTED

    @property
    def idle(self) -> bool:
        return bool(self._status() & IDLE)

    @property
    def error(self) -> bool:
        return bool(self._status() & ERRORS)

    def start(self) -> None:
        self.dma.write(self.base + DMACR, RUN)
        while not self.running:
            pass
        self._first = True

    def stop(self) -> None:
        self.dma.write(self.base + DMACR, 0)
        while self.running:
            pass

    def transfer(self, array: Buffer, start: int = 0, nbytes: int = 0) -> None:
        if not self.running:
            raise RuntimeError("DMA channel not started")
        if not self.idle and not self._first:
            raise RuntimeError("DMA channel not idle")
        nbytes = nbytes or array.nbytes - start
        if nbytes > self.max_size:
            raise ValueError(f"Transfer size is {nbytes} bytes, which exceeds the maximum DMA buffer size "
                             f"{self.max_size}.")
        if (array.physical_address + start) % self.align:
            raise RuntimeError(f"DMA does not support unaligned transfers; Starting address must be aligned to "
                               f"{self.align} bytes.")
        if self.outgoing:
            array.flush()
        self.transferred = 0
        self.dma.write(self.base + ADDRESS, array.physical_address + start)
        self.dma.write(self.base + LENGTH, nbytes)
        self._active, self._first = array, False

    def wait(self) -> None:
        if not self.running:
            raise RuntimeError("DMA channel not started")
        while True:
            status = self._status()
            for bit, text in ((INTERNAL_ERROR, "DMA Internal Error (transfer length 0?)"),
                              (SLAVE_ERROR, "DMA Slave Error (cannot access memory map interface)"),
                              (DECODE_ERROR, "DMA Decode Error (invalid address)")):
                if status & bit:
                    raise RuntimeError(text)
            if status & IDLE:
                break
        if not self.outgoing:
            self._active.invalidate()
        self.transferred = self.dma.read(self.base + LENGTH)
        self._active = None


class DMA:
    """pynq.lib.dma.DMA for a simple-mode AXI DMA cell: DefaultIP's read / write, the two channels (started
    when opened, as pynq does) and buffer_max_size, from the cell's .hwh parameters."""

    def __init__(self, model: AxiDmaModel, parameters: dict[str, str]):
        self.read, self.write = resume(model.read), resume(model.write)
        self.buffer_max_size = (1 << int(parameters["c_sg_length_width"])) - 1
        self.sendchannel = Channel(self, MM2S, self.buffer_max_size, int(parameters["c_m_axi_mm2s_data_width"]) // 8)
        self.recvchannel = Channel(self, S2MM, self.buffer_max_size, int(parameters["c_m_axi_s2mm_data_width"]) // 8)


class MMIO:
    """The accelerator's AXI-Lite registers (pynq DefaultIP read / write)."""

    def __init__(self, axil: AxiLiteMaster):
        self.read = resume(axil.read_dword)
        self.write = resume(axil.write_dword)


class Overlay:
    """pynq.Overlay over the simulated vit_accel: one attribute per cell of the .hwh beside the bitstream (the
    simple-mode AXI DMA bound to the top's streams, the accelerator to its AXI-Lite port)."""

    def __init__(self, bitstream: str, sim: SimPynq):
        hwh = Path(bitstream).with_suffix(".hwh")
        if not Path(bitstream).is_file() or not hwh.is_file():
            raise OSError(f"Bitstream file {bitstream} or its .hwh does not exist")
        for name, cell in read_hwh(hwh).items():
            if cell["vlnv"].startswith(DMA_VLNV):
                setattr(self, name, sim.open_dma(cell["parameters"]))
            elif cell["vlnv"].split(":")[2:3] == [sim.top]:
                setattr(self, name, sim.mmio)


class SimPynq:
    """The `pynq` module as the driver sees it, over a running cocotb simulation of vit_accel (`dut`)."""

    def __init__(self, dut, top: str = "vit_accel"):
        self.dut, self.top, self.memory = dut, top, Memory()
        self.mmio = MMIO(AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst))
        self.dma_model: AxiDmaModel | None = None

    def open_dma(self, parameters: dict[str, str]) -> DMA:
        if self.dma_model is None:  # the streams are bound once; a reloaded overlay keeps them
            self.dma_model = AxiDmaModel(self.dut, self.memory, int(parameters["c_sg_length_width"]))
        return DMA(self.dma_model, parameters)

    @property
    def source(self):  # MM2S's stream source and S2MM's port, for tests that pause them
        return self.dma_model.source

    @property
    def sink(self):
        return self.dma_model.sink

    def Overlay(self, bitstream: str) -> Overlay:  # noqa: N802 (pynq's name)
        return Overlay(bitstream, self)

    def allocate(self, shape, dtype) -> Buffer:
        buf = np.zeros(shape, dtype).view(Buffer)
        buf.memory, buf.physical_address = self.memory, self.memory.allocate(buf.nbytes)
        return buf

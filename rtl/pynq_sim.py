"""A stand-in for exactly the slice of the pynq API that host/board.py uses, backed by the cocotb simulation of
vit_accel: the driver runs unchanged in a thread (cocotb.task.bridge) and every call it makes - register reads
and writes, DMA transfers, polling a channel's idle bit - runs the simulator through cocotb.task.resume. The
DMA's MM2S side is a cocotbext-axi AxiStreamSource (TLAST on a transfer's last beat, as the AXI DMA in simple
mode sends), S2MM an AxiStreamSink that completes at the first TLAST; both can be paused like real ports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cocotb.task import resume
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

POLL_CYCLES = 32  # clock cycles that pass per poll of a channel's idle bit (an MMIO read on the board)


class Buffer(np.ndarray):
    """pynq.allocate's contiguous buffer: a numpy array with the cache and free calls."""

    physical_address = 0

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        pass


class MMIO:
    """The accelerator's AXI-Lite registers (pynq DefaultIP read / write)."""

    def __init__(self, axil: AxiLiteMaster):
        self.read = resume(axil.read_dword)
        self.write = resume(axil.write_dword)


class SendChannel:
    """MM2S: one transfer = one frame on the accelerator's s_axis, TLAST on its last beat."""

    def __init__(self, source: AxiStreamSource, clk):
        self.source, self.clk = source, clk
        self._send = resume(source.send)
        self._poll = resume(self._cycles)

    async def _cycles(self):
        await ClockCycles(self.clk, POLL_CYCLES)

    def transfer(self, buf: np.ndarray) -> None:
        self._send(AxiStreamFrame(np.ascontiguousarray(buf).tobytes()))

    @property
    def idle(self) -> bool:
        self._poll()
        return self.source.empty() and self.source.idle()

    def wait(self) -> None:
        while not self.idle:
            pass

    def stop(self) -> None:  # aborts the transfer: drops what was not sent
        self.source.assert_reset()

    def start(self) -> None:
        pass


class RecvChannel(SendChannel):
    """S2MM: one transfer ends at the first TLAST; its bytes land in the buffer."""

    def __init__(self, sink: AxiStreamSink, clk):
        self.sink, self.clk, self.buf = sink, clk, None
        self._poll = resume(self._cycles)

    def transfer(self, buf: np.ndarray) -> None:
        self.buf = buf

    @property
    def idle(self) -> bool:
        self._poll()
        if self.buf is not None and not self.sink.empty():
            data = bytes(self.sink.recv_nowait().tdata)
            flat = self.buf.reshape(-1).view(np.uint8)
            flat[:min(len(data), flat.nbytes)] = np.frombuffer(data[:flat.nbytes], np.uint8)
            self.buf = None
        return self.buf is None

    def stop(self) -> None:  # aborts the transfer: drops a partly received frame
        self.sink.assert_reset()
        self.buf = None


class DMA:
    def __init__(self, source, sink, clk):
        self.sendchannel, self.recvchannel = SendChannel(source, clk), RecvChannel(sink, clk)


class Overlay:
    """pynq.Overlay for one simulated top: `axi_dma_0` and `vit_accel_0`, named as in the block design."""

    def __init__(self, bitstream: str, dma: DMA, mmio: MMIO):
        if not Path(bitstream).is_file():
            raise FileNotFoundError(bitstream)
        self.axi_dma_0, self.vit_accel_0 = dma, mmio


class SimPynq:
    """The `pynq` module as the driver sees it, over a running cocotb simulation of vit_accel."""

    def __init__(self, dut):
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.dma = DMA(self.source, self.sink, dut.clk)
        self.mmio = MMIO(AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst))

    def Overlay(self, bitstream: str) -> Overlay:  # noqa: N802 (pynq's name)
        return Overlay(bitstream, self.dma, self.mmio)

    @staticmethod
    def allocate(shape, dtype) -> Buffer:
        return np.zeros(shape, dtype).view(Buffer)

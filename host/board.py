"""The board backend: vit_accel on a PYNQ board, driven through the slice of the pynq API named below.

pynq.Overlay(bitstream) -> overlay with the AXI DMA (`axi_dma_0`: sendchannel / recvchannel with transfer(buf),
idle, wait(), stop(), start()) and the accelerator (`vit_accel_0`: read(offset), write(offset, value));
pynq.allocate(shape, dtype) -> a contiguous numpy buffer (flush(), invalidate(), freebuffer()).
A batch of N images goes out in ONE DMA transfer and its N results come back in one (BATCH register); the
same calls run against the RTL simulation through rtl/pynq_sim.py, so the sequence tested here is the one
the board sees.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..quant.model_file import IntModel
from ..rtl.registers import CTRL_BITS, REGISTERS
from .backends import UserError

DMA = "axi_dma_0"            # IP names in the block design (rtl/bitstream.py writes the same)
ACCEL = "vit_accel_0"
MAX_BATCH = 1024             # images per DMA transfer (the BATCH register is 16 bits; buffers stay small)


class BoardError(UserError):
    """The accelerator or its DMA did not do what was asked: one line, exit code 2."""


def import_pynq():
    try:
        import pynq
    except ImportError:
        raise UserError("the board backend runs on a PYNQ board: `import pynq` failed here "
                        "(use --backend rtlsim to run the same driver against the simulated accelerator)") from None
    return pynq


class Board:
    """vit_accel behind an AXI DMA. `pynq` is the pynq module (or rtl/pynq_sim's stand-in)."""

    def __init__(self, model: IntModel, bitstream: str | Path, pynq=None, timeout_s: float = 2.0,
                 max_batch: int = MAX_BATCH):
        bitstream = Path(bitstream)
        if not bitstream.is_file():
            raise UserError(f"bitstream {bitstream} not found: build it with `make bitstream` (needs Vivado) and "
                            "copy the .bit with its .hwh beside it")
        if bitstream.suffix == ".bit" and not bitstream.with_suffix(".hwh").is_file():
            raise UserError(f"{bitstream.with_suffix('.hwh')} not found: the overlay's address map comes from it")
        self.pynq = pynq or import_pynq()
        overlay = self.pynq.Overlay(str(bitstream))
        try:
            self.dma, self.accel = getattr(overlay, DMA), getattr(overlay, ACCEL)
        except AttributeError:
            raise UserError(f"{bitstream} has no {DMA} and {ACCEL}: not a vitflow overlay") from None
        self.model, self.timeout_s, self.max_batch = model, timeout_s, max_batch
        self.image_bytes = int(np.prod(model.input_shape))
        self.words = None
        self._check_model(bitstream)
        self.write("CTRL", CTRL_BITS["RUN"] | CTRL_BITS["CLEAR"])
        self._buffers: dict[int, tuple] = {}

    # ---- registers, by name from the one map in rtl/registers.py
    def read(self, reg: str) -> int:
        return int(self.accel.read(REGISTERS[reg]))

    def write(self, reg: str, value: int) -> None:
        self.accel.write(REGISTERS[reg], int(value))

    def counters(self) -> dict[str, int]:
        return {r: self.read(r) for r in ("STATUS", "ERRORS", "FRAMES_IN", "FRAMES_OUT", "FRAMES_DROPPED",
                                          "CYCLES", "BUSY_CYCLES", "LATENCY")}

    def _check_model(self, bitstream: Path) -> None:
        ident, want = self.read("MODEL_ID"), self.model.identity()
        if ident != want:
            raise BoardError(f"{bitstream} holds another model (MODEL_ID {ident:#010x}, the model file is "
                             f"{want:#010x}): build the bitstream for this model, or pass the model it was built for")
        if self.read("IMAGE_BYTES") != self.image_bytes:
            raise BoardError(f"{bitstream} takes {self.read('IMAGE_BYTES')}-byte images, the model "
                             f"{self.image_bytes}")
        self.words = self.read("RESULT_WORDS")

    # ---- inference
    def run(self, images: np.ndarray) -> np.ndarray:
        """int64 logits [N, RESULT_WORDS] of uint8 images [N, C, H, W], max_batch images per DMA transfer."""
        flat = np.ascontiguousarray(images, np.uint8).reshape(len(images), self.image_bytes)
        out = [self._batch(flat[i:i + self.max_batch]) for i in range(0, len(flat), self.max_batch)]
        return np.concatenate(out) if out else np.zeros((0, self.words), np.int64)

    def _batch(self, flat: np.ndarray) -> np.ndarray:
        n = len(flat)
        if n not in self._buffers:  # one pair of contiguous buffers per batch size, kept
            self._buffers[n] = (self.pynq.allocate((n, self.image_bytes), np.uint8),
                                self.pynq.allocate((n, self.words), np.int32))
        inbuf, outbuf = self._buffers[n]
        inbuf[:] = flat
        self.write("BATCH", n)
        self.dma.recvchannel.transfer(outbuf)  # armed first: S2MM takes the results as they come
        self.dma.sendchannel.transfer(inbuf)
        self._wait(self.dma.sendchannel, "sending images", n)
        self._wait(self.dma.recvchannel, "receiving results", n)
        return np.array(outbuf, np.int64)

    def _wait(self, channel, what: str, n: int) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not channel.idle:
            if time.monotonic() > deadline:
                c = self.counters()
                self.recover()
                raise BoardError(f"DMA timeout {what} ({n} images, {self.timeout_s} s): STATUS {c['STATUS']:#x} "
                                 f"ERRORS {c['ERRORS']:#x} FRAMES_IN {c['FRAMES_IN']} FRAMES_OUT {c['FRAMES_OUT']} "
                                 f"FRAMES_DROPPED {c['FRAMES_DROPPED']}; the accelerator and DMA were reset")
        channel.wait()  # returns at once; makes the received buffer visible to the CPU

    def recover(self) -> None:
        """Abort both DMA channels and reset the accelerator's datapath (counters kept); the next batch works."""
        for ch in (self.dma.sendchannel, self.dma.recvchannel):
            ch.stop()
        self.write("CTRL", CTRL_BITS["RUN"] | CTRL_BITS["RESET"])
        for ch in (self.dma.sendchannel, self.dma.recvchannel):
            ch.start()

    def cycles_per_image(self) -> float | None:
        """Steady-state cycles per image from the accelerator's own counters since they were cleared: busy
        cycles less the first image's latency, over the images after it (a batch streams back to back)."""
        frames, busy, latency = self.read("FRAMES_OUT"), self.read("BUSY_CYCLES"), self.read("LATENCY")
        if frames > 1 and busy > latency:
            return (busy - latency) / (frames - 1)
        return busy / frames if frames else None

    def close(self) -> None:
        for bufs in self._buffers.values():
            for b in bufs:
                b.freebuffer()
        self._buffers.clear()

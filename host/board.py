"""The board backend: vit_accel on a PYNQ board, driven through the slice of the pynq API named below.

pynq.Overlay(bitstream) -> overlay with the AXI DMA (`axi_dma_0`: sendchannel / recvchannel with transfer(buf),
wait(), start(), transferred; read(offset) / write(offset, value) on its registers; buffer_max_size) and the
accelerator (`vit_accel_0`: read(offset), write(offset, value)); pynq.allocate(shape, dtype) -> a contiguous
numpy buffer (freebuffer()). A batch of N images goes out in ONE DMA transfer and its N results come back in
one (BATCH register); the same calls run against the RTL simulation through rtl/pynq_sim.py, a stand-in as strict
as pynq and the DMA, so the sequence tested there is the one the board sees.

No call here waits without a bound: the channels' status register is polled with a deadline (pynq's own
wait() / stop() / start() spin forever on a transfer that cannot end, so they are called only once the channel
is idle or running); after every batch the error bits and the bytes received are checked; a fault resets the
DMA (stop, else its soft reset) and the accelerator's datapath, raises one line with the counters, and the
next batch works.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..quant.model_file import IntModel
from ..rtl.registers import ACCEL, CTRL_BITS, DMA, REGISTERS
from . import axi_dma
from .errors import UserError

MAX_BATCH = 1024             # images per DMA transfer (the BATCH register is 16 bits; buffers stay small)
SETTLE_S = 0.1               # how long a DMA channel may take to halt, start, or leave its soft reset


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
        self.model, self.timeout_s = model, timeout_s
        self.image_bytes = int(np.prod(model.input_shape))
        self.words = None
        self._check_model(bitstream)
        # a batch's images and its results each fit one DMA transfer (the DMA's length register, from the .hwh)
        per_image = max(self.image_bytes, 4 * self.words)
        self.max_batch = min(max_batch, getattr(self.dma, "buffer_max_size", 1 << 26) // per_image)
        if self.max_batch < 1:
            raise BoardError(f"{bitstream}: one image's {per_image} bytes exceed the DMA's largest transfer "
                             f"({self.dma.buffer_max_size} bytes): rebuild with a wider c_sg_length_width")
        self.channels = ((self.dma.sendchannel, axi_dma.MM2S, "sending images"),
                         (self.dma.recvchannel, axi_dma.S2MM, "receiving results"))
        if any(self._status(base) & (axi_dma.ERRORS | axi_dma.HALTED) for _, base, _ in self.channels):
            self.recover()  # left in error or stopped by an earlier run
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
        try:
            self.dma.recvchannel.transfer(outbuf)  # armed first: S2MM takes the results as they come
            self.dma.sendchannel.transfer(inbuf)
        except (RuntimeError, ValueError) as e:  # pynq refused the transfer
            self._fail(f"DMA refused the transfer: {e}", n)
        self._finish(n)
        got, want = self.dma.recvchannel.transferred, outbuf.nbytes
        if got != want:  # the result stream ended early (TLAST): the rest of the buffer is stale
            self._fail(f"received {got} of {want} result bytes", n)
        return np.array(outbuf, np.int64)

    def _status(self, base: int) -> int:
        return int(self.dma.read(base + axi_dma.DMASR))

    def _finish(self, n: int) -> None:
        """Both channels idle within timeout_s, each then wait()ed (which returns at once: it makes the received
        buffer visible and sets `transferred`); an error bit or the deadline fails the batch."""
        deadline, pending = time.monotonic() + self.timeout_s, list(self.channels)
        while pending:
            for entry in list(pending):
                channel, base, what = entry
                status = self._status(base)
                if status & axi_dma.ERRORS:
                    self._fail(f"DMA error {what}: {axi_dma.describe(status)}", n)
                if status & axi_dma.IDLE:
                    channel.wait()
                    pending.remove(entry)
            if pending and time.monotonic() > deadline:
                _, base, what = pending[0]
                self._fail(f"DMA timeout {what} ({self.timeout_s} s; {axi_dma.describe(self._status(base))})", n)

    def _fail(self, what: str, n: int):
        c = self.counters()
        self.recover()
        raise BoardError(f"{what} in a batch of {n} images: STATUS {c['STATUS']:#x} ERRORS {c['ERRORS']:#x} "
                         f"FRAMES_IN {c['FRAMES_IN']} FRAMES_OUT {c['FRAMES_OUT']} FRAMES_DROPPED "
                         f"{c['FRAMES_DROPPED']}; the DMA and the accelerator were reset")

    def _until(self, done, seconds: float = SETTLE_S) -> bool:
        """Poll `done()` until it holds or `seconds` have passed (at least three polls); whether it held."""
        deadline, polls = time.monotonic() + seconds, 0
        while not done():
            polls += 1
            if polls >= 3 and time.monotonic() > deadline:
                return False
        return True

    def recover(self) -> None:
        """Stop both DMA channels; when one does not halt (its transfer cannot end: S2MM waits for a TLAST, MM2S
        for a ready) or shows an error, the DMA's soft reset; then the accelerator's datapath reset (counters
        kept) and both channels started again. Every wait is bounded; the next batch works."""
        dma = self.dma
        for _, base, _ in self.channels:
            dma.write(base + axi_dma.DMACR, 0)
        stopped = self._until(lambda: all(self._status(b) & (axi_dma.HALTED | axi_dma.ERRORS) == axi_dma.HALTED
                                          for _, b, _ in self.channels))
        if not stopped:
            dma.write(axi_dma.MM2S + axi_dma.DMACR, axi_dma.RESET)
        self.write("CTRL", CTRL_BITS["RUN"] | CTRL_BITS["RESET"])  # also lets a soft reset finish a cut stream
        if not self._until(lambda: not dma.read(axi_dma.MM2S + axi_dma.DMACR) & axi_dma.RESET):
            raise BoardError("the AXI DMA did not leave its soft reset: reload the overlay (pynq.Overlay)")
        for channel, base, what in self.channels:
            dma.write(base + axi_dma.DMACR, axi_dma.RUN)
            if not self._until(lambda: not self._status(base) & axi_dma.HALTED):  # noqa: B023 (called here)
                raise BoardError(f"the DMA channel {what} does not start: {axi_dma.describe(self._status(base))}; "
                                 "reload the overlay (pynq.Overlay)")
            channel.start()  # running already, so pynq's spin returns at once; it re-arms pynq's first transfer

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

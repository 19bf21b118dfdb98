"""The slice of the Xilinx AXI DMA's register map (PG021, direct register mode) that the driver and the stand-in
read: one place for the offsets and bits, so that host/board.py and rtl/dma_sim.py agree by construction."""

from __future__ import annotations

MM2S, S2MM = 0x00, 0x30  # channel register bases: memory-to-stream (images out), stream-to-memory (results in)
DMACR, DMASR, ADDRESS, LENGTH = 0x00, 0x04, 0x18, 0x28  # offsets from a channel's base

# DMACR bits
RUN = 0x1      # RS: run (1) / stop (0; the channel halts once its current transfer has ended)
RESET = 0x4    # soft reset of the whole DMA (both channels); reads 1 until the reset has completed
# DMASR bits
HALTED = 0x1
IDLE = 0x2
INTERNAL_ERROR, SLAVE_ERROR, DECODE_ERROR = 0x10, 0x20, 0x40
ERRORS = INTERNAL_ERROR | SLAVE_ERROR | DECODE_ERROR
ERROR_NAMES = {INTERNAL_ERROR: "internal error (zero length or a receive overrun)",
               SLAVE_ERROR: "slave error (memory refused the access)", DECODE_ERROR: "decode error (invalid address)"}


def describe(status: int) -> str:
    """DMASR as words: 'halted, slave error (...)'."""
    words = ["halted" if status & HALTED else "running", "idle" if status & IDLE else "busy"]
    return ", ".join(words + [name for bit, name in ERROR_NAMES.items() if status & bit])

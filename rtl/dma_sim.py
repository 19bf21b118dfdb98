"""The AXI DMA (PG021, direct register mode) as the stand-in's hardware: its registers over the board's memory
and vit_accel's two streams in the cocotb simulation, with the rules the real core keeps and pynq does not
check for the driver:

- a channel runs only after RS=1 and halts (RS=0) only once its current transfer has ended; S2MM's ends at
  TLAST, so a result stream that stops short never lets it halt; only the soft reset (DMACR bit 2, both
  channels at once) stops a transfer that cannot end;
- MM2S reads the buffer from memory (what the CPU wrote but did not flush is not there), S2MM writes memory
  (the CPU sees it after an invalidate); an address outside every allocated buffer is a decode error;
- S2MM takes no beat while no receive transfer is armed (TREADY low); more bytes than LENGTH before TLAST is
  an internal error (overrun) that halts the channel; at TLAST, LENGTH reads back the bytes received;
- a zero LENGTH is an internal error; errors halt the channel until the soft reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSource

from ..host.axi_dma import (
    ADDRESS,
    DECODE_ERROR,
    DMACR,
    DMASR,
    HALTED,
    IDLE,
    INTERNAL_ERROR,
    LENGTH,
    MM2S,
    RESET,
    RUN,
    S2MM,
)

MMIO_CYCLES = 32  # clock cycles one register access on the board's general-purpose port takes (order of)
PAGE = 4096       # pynq.allocate's buffers start on a page


class Memory:
    """The board's DDR as the DMA sees it: allocated buffers by physical address."""

    def __init__(self):
        self.blocks: dict[int, bytearray] = {}
        self._next = 0x1000_0000

    def allocate(self, nbytes: int) -> int:
        address, self._next = self._next, self._next + -(-max(nbytes, 1) // PAGE) * PAGE
        self.blocks[address] = bytearray(nbytes)
        return address

    def free(self, address: int) -> None:
        self.blocks.pop(address, None)

    def _span(self, address: int, nbytes: int) -> tuple[bytearray, int] | None:
        for base, block in self.blocks.items():
            if base <= address and address + nbytes <= base + len(block):
                return block, address - base
        return None

    def load(self, address: int, nbytes: int) -> bytes | None:
        span = self._span(address, nbytes)
        return None if span is None else bytes(span[0][span[1]:span[1] + nbytes])

    def store(self, address: int, data: bytes) -> bool:
        span = self._span(address, len(data))
        if span is not None:
            span[0][span[1]:span[1] + len(data)] = data
        return span is not None

    def holds(self, address: int, nbytes: int) -> bool:
        return self._span(address, nbytes) is not None


@dataclass
class ChannelState:
    run: bool = False
    halted: bool = True
    idle: bool = False
    errors: int = 0
    address: int = 0
    length: int = 0
    busy: bool = False        # a transfer is under way
    received: bytearray = field(default_factory=bytearray)

    def status(self) -> int:
        return (HALTED if self.halted else 0) | (IDLE if self.idle else 0) | self.errors

    def fail(self, error: int) -> None:
        self.errors |= error
        self.halted, self.busy = True, False


class StreamToMemory:
    """S2MM's stream port on vit_accel's m_axis: TREADY high only while `accepting()` and not paused (a pause
    generator as cocotbext-axi's, or `pause`); each beat taken goes to `on_beat(bytes, last)`."""

    def __init__(self, dut, prefix: str, clk, accepting, on_beat):
        self.tdata, self.tvalid = getattr(dut, f"{prefix}_tdata"), getattr(dut, f"{prefix}_tvalid")
        self.tready, self.tlast = getattr(dut, f"{prefix}_tready"), getattr(dut, f"{prefix}_tlast")
        self.tkeep = getattr(dut, f"{prefix}_tkeep", None)
        self.clk, self.accepting, self.on_beat = clk, accepting, on_beat
        self.lanes = len(self.tdata) // 8
        self.pause, self._pauses = False, None
        self.refused = 0  # cycles the accelerator offered a beat while no receive transfer was armed
        self.tready.value = 0
        cocotb.start_soon(self._run())

    def set_pause_generator(self, generator) -> None:
        self._pauses = generator

    def clear_pause_generator(self) -> None:
        self._pauses = None

    async def _run(self) -> None:
        while True:
            await RisingEdge(self.clk)
            if int(self.tready.value) and int(self.tvalid.value):
                word = int(self.tdata.value).to_bytes(self.lanes, "little")
                keep = int(self.tkeep.value) if self.tkeep is not None else (1 << self.lanes) - 1
                self.on_beat(bytes(b for i, b in enumerate(word) if keep >> i & 1), bool(int(self.tlast.value)))
            elif int(self.tvalid.value) and not self.accepting():
                self.refused += 1
            paused = next(self._pauses) if self._pauses is not None else self.pause
            self.tready.value = int(self.accepting() and not paused)


class AxiDmaModel:
    """The DMA's registers (`read` / `write`, coroutines that take MMIO_CYCLES each) over `memory`, MM2S driving
    the top's s_axis (a cocotbext-axi source: `source`), S2MM taking its m_axis (`sink`)."""

    def __init__(self, dut, memory: Memory, length_bits: int):
        self.clk, self.memory, self.length_mask = dut.clk, memory, (1 << length_bits) - 1
        self.channels = {MM2S: ChannelState(), S2MM: ChannelState()}
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = StreamToMemory(dut, "m_axis", dut.clk, self._receiving, self._beat)
        self._fail_next = 0

    def fail_next_transfer(self, error: int) -> None:
        """The next transfer ends at once with `error` in DMASR (a memory port refusing, say)."""
        self._fail_next = error

    def _register(self, offset: int) -> tuple[int, ChannelState, int]:
        """(channel base, its state, the register's offset within the channel) of a register offset."""
        base = S2MM if offset >= S2MM else MM2S
        return base, self.channels[base], offset - base

    async def read(self, offset: int) -> int:
        await ClockCycles(self.clk, MMIO_CYCLES)
        self._settle()
        _, ch, reg = self._register(offset)
        return {DMACR: int(ch.run), DMASR: ch.status(), ADDRESS: ch.address, LENGTH: ch.length}.get(reg, 0)

    async def write(self, offset: int, value: int) -> None:
        await ClockCycles(self.clk, MMIO_CYCLES)
        self._settle()
        base, ch, reg = self._register(offset)
        if reg == DMACR:
            self._control(ch, value)
        elif reg == ADDRESS:
            ch.address = value
        elif reg == LENGTH and not ch.halted:
            self._start(base, ch, value & self.length_mask)

    def _control(self, ch: ChannelState, value: int) -> None:
        if value & RESET:  # either channel's reset bit resets the whole core; it completes here at once
            self.source.clear()
            self.source.assert_reset()  # a pulse: the frame under way is cut (the stream is "terminated early")
            self.channels = {MM2S: ChannelState(), S2MM: ChannelState()}
            return
        ch.run = bool(value & RUN)
        if ch.run and ch.halted and not ch.errors:
            ch.halted = False

    def _start(self, base: int, ch: ChannelState, length: int) -> None:
        error, self._fail_next = self._fail_next, 0
        if length == 0:
            error = INTERNAL_ERROR
        elif not self.memory.holds(ch.address, length):
            error = DECODE_ERROR
        if error:
            ch.fail(error)
            return
        ch.idle, ch.busy, ch.length = False, True, length
        if base == MM2S:
            self.source.send_nowait(AxiStreamFrame(self.memory.load(ch.address, length)))
        else:
            ch.received = bytearray()

    def _settle(self) -> None:
        """What the channels' state is by now: MM2S done once its frame has left; stopped channels halt once idle."""
        send = self.channels[MM2S]
        if send.busy and self.source.empty() and self.source.idle():
            send.busy, send.idle = False, True
        for ch in self.channels.values():
            if not ch.run and not ch.busy:
                ch.halted = True

    def _receiving(self) -> bool:
        ch = self.channels[S2MM]
        return ch.busy and not ch.halted

    def _beat(self, data: bytes, last: bool) -> None:
        ch = self.channels[S2MM]
        ch.received += data
        if len(ch.received) > ch.length or (len(ch.received) == ch.length and not last):
            self.memory.store(ch.address, bytes(ch.received[:ch.length]))
            ch.fail(INTERNAL_ERROR)  # overrun: the packet is longer than the buffer
        elif last:
            self.memory.store(ch.address, bytes(ch.received))
            ch.busy, ch.idle, ch.length = False, True, len(ch.received)

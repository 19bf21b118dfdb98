"""axis_register (register slice with a skid buffer): random frames arrive whole and in order, TLAST where it was
sent, under random pauses on both sides (none, 40%, a sink paused 90% of cycles); without pauses it passes one
beat per cycle with one cycle of latency; a stopped sink leaves two beats in it (output and skid register)."""

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, output_ports, receive, set_pauses, watch_outputs

FRAMES, MAX_BEATS = 60, 12  # random frames of 1..MAX_BEATS beats per pause setting
BURST = 100  # beats of the back-to-back throughput check
PAUSES = [(0.0, 0.0), (0.4, 0.4), (0.0, 0.9), (0.9, 0.0)]  # (source, sink) probability of pausing a cycle


async def setup(dut):
    """Clock, source, sink and X watch on the DUT, after a reset."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    cocotb.start_soon(watch_outputs(dut, output_ports(dut, ["s_axis"])))
    return source, sink


@cocotb.test()
async def frames_in_order_under_backpressure(dut):
    source, sink = await setup(dut)
    lanes = len(dut.s_axis_tdata) // 8
    rng = random.Random(7)
    for p_source, p_sink in PAUSES:
        set_pauses([source], rng, p_source)
        set_pauses([sink], rng, p_sink)
        frames = [rng.randbytes(lanes * rng.randint(1, MAX_BEATS)) for _ in range(FRAMES)]
        for f in frames:
            await source.send(AxiStreamFrame(f))
        for i, f in enumerate(frames):  # a frame ends at TLAST: its length checks where TLAST came
            got = bytes((await receive(sink)).tdata)
            assert got == f, f"frame {i} (pauses {p_source}/{p_sink}): {len(got)} bytes != {len(f)} sent"
        assert sink.empty(), f"beats after the last frame (pauses {p_source}/{p_sink})"


@cocotb.test()
async def one_beat_per_cycle(dut):
    source, sink = await setup(dut)
    lanes = len(dut.s_axis_tdata) // 8
    data = random.Random(5).randbytes(lanes * BURST)
    await source.send(AxiStreamFrame(data))
    cycle, first_in, outs, out_cycles = 0, None, 0, []
    while outs < BURST:  # sampled mid-cycle, where the handshakes are settled
        await FallingEdge(dut.clk)
        cycle += 1
        if first_in is None and int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
            first_in = cycle
        if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
            outs += 1
            out_cycles.append(cycle)
    assert bytes((await receive(sink)).tdata) == data
    assert out_cycles[0] - first_in == 1, f"latency {out_cycles[0] - first_in} cycles, not 1"
    span = out_cycles[-1] - first_in + 1
    assert span == BURST + 1, f"{BURST} beats took {span} cycles from the first input beat, not {BURST + 1}"


@cocotb.test()
async def holds_two_beats_while_stalled(dut):
    """A stopped sink: the output and the skid register take a beat each, then ready falls; once the sink goes on,
    every beat comes out back to back."""
    source, sink = await setup(dut)
    lanes = len(dut.s_axis_tdata) // 8
    data = random.Random(6).randbytes(lanes * 6)
    sink.pause = True
    await source.send(AxiStreamFrame(data))
    taken = 0
    for _ in range(10):
        await FallingEdge(dut.clk)
        taken += int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value)
    assert taken == 2 and not int(dut.s_axis_tready.value), f"{taken} beats taken while the sink stopped, not 2"
    sink.pause = False
    outs = []
    for cycle in range(20):
        await FallingEdge(dut.clk)
        if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
            outs.append(cycle)
    assert bytes((await receive(sink)).tdata) == data
    assert outs == list(range(outs[0], outs[0] + 6)), f"output beats in cycles {outs}, not back to back"


@pytest.mark.parametrize("width", [8, 384])
def test_axis_register(width):
    from sim import run

    run("axis_register", "test_axis_register", {"WIDTH": width})

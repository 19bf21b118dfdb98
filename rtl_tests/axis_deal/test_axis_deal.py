"""axis_deal and axis_gather as rtl/top.py joins copies of a kernel: a stream dealt an image at a time to
COPIES copies (here each a 2-entry axis_fifo: shorter than an image, as a kernel that takes its image token by
token) and gathered back in two levels (an image leaves a gather's buffer only once whole): the same beats and
TLASTs in the same order, under random backpressure on both ends."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, output_ports, receive, set_pauses, watch_outputs

from vitflow.rtl.plan import gather_levels

# 9 copies (two levels of 3-way gathers, as rtl/top.py joins more than GATHER_WAYS copies), images of 5 beats
# (a count that is not a power of two)
WIDTH, COPIES, TOKENS = 16, 9, 5
WAYS, GROUPS = gather_levels(COPIES)


def gather(name: str, ways: int, inputs: str, out: str, way: str = "") -> str:
    """An axis_gather instance `name` of `ways` ways from the vectors `inputs`_t*, out to the stream `out`_t*
    (its bits `way`, a part-select, where given)."""
    data = f"[{way} * {WIDTH} +: {WIDTH}]" if way else ""
    bit = f"[{way}]" if way else ""
    return (f"    axis_gather #(.WIDTH({WIDTH}), .WAYS({ways}), .TOKENS({TOKENS}), .DEPTH(8)) {name} (.clk(clk), "
            f".rst(rst), .s_axis_tdata({inputs}_tdata), .s_axis_tvalid({inputs}_tvalid), "
            f".s_axis_tready({inputs}_tready), .s_axis_tlast({inputs}_tlast), .m_axis_tdata({out}_tdata{data}), "
            f".m_axis_tvalid({out}_tvalid{bit}), .m_axis_tready({out}_tready{bit}), "
            f".m_axis_tlast({out}_tlast{bit}));\n")


def vector(name: str, n: int) -> str:
    """Declares n streams side by side: `name`_tdata, _tvalid, _tready, _tlast."""
    return (f"    wire [{n * WIDTH - 1}:0] {name}_tdata;\n"
            f"    wire [{n - 1}:0] {name}_tvalid, {name}_tready, {name}_tlast;\n")


# copy j (a 2-entry FIFO) is way j // GROUPS of first-level gather j % GROUPS; the second level joins the groups
COPY = """    axis_fifo #(.WIDTH({w}), .DEPTH(2)) copy{j} (.clk(clk), .rst(rst), .s_axis_tdata(d_tdata),
        .s_axis_tvalid(d_tvalid[{j}]), .s_axis_tready(d_tready[{j}]), .s_axis_tlast(d_tlast),
        .m_axis_tdata(g{g}_tdata[{way}*{w} +: {w}]), .m_axis_tvalid(g{g}_tvalid[{way}]),
        .m_axis_tready(g{g}_tready[{way}]), .m_axis_tlast(g{g}_tlast[{way}]));
"""
WRAPPER = f"""`default_nettype none
module deal_gather (
    input  wire clk, input wire rst,
    input  wire [{WIDTH - 1}:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    input  wire s_axis_tlast,
    output wire [{WIDTH - 1}:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready,
    output wire m_axis_tlast
);
    wire [{WIDTH - 1}:0] d_tdata;
    wire d_tlast;
    wire [{COPIES - 1}:0] d_tvalid, d_tready;
{"".join(vector(f"g{g}", WAYS) for g in range(GROUPS))}{vector("top", GROUPS)}
    axis_deal #(.WIDTH({WIDTH}), .WAYS({COPIES}), .TOKENS({TOKENS})) deal (.clk(clk), .rst(rst),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast), .m_axis_tdata(d_tdata), .m_axis_tvalid(d_tvalid), .m_axis_tready(d_tready),
        .m_axis_tlast(d_tlast));
{"".join(COPY.format(w=WIDTH, j=j, g=j % GROUPS, way=j // GROUPS) for j in range(COPIES))}
{"".join(gather(f"gather{g}", WAYS, f"g{g}", "top", str(g)) for g in range(GROUPS))}
{gather("gather", GROUPS, "top", "m_axis")}
endmodule
`default_nettype wire
"""


@cocotb.test()
async def images_in_order_under_backpressure(dut):
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    cocotb.start_soon(watch_outputs(dut, output_ports(dut, ["s_axis"])))
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    rng = random.Random(3)
    # every image a frame of TOKENS beats (TLAST on its last); 3 x COPIES + 1 images: each copy several times
    images = [[rng.getrandbits(WIDTH) for _ in range(TOKENS)] for _ in range(3 * COPIES + 1)]
    for pause in (0.0, 0.4):
        set_pauses([source, sink], rng, pause)
        for img in images:
            await source.send(AxiStreamFrame([b for v in img for b in v.to_bytes(WIDTH // 8, "little")]))
        for i, img in enumerate(images):
            frame = await receive(sink)
            got = [int.from_bytes(bytes(frame.tdata[k:k + WIDTH // 8]), "little")
                   for k in range(0, len(frame.tdata), WIDTH // 8)]
            assert got == img, f"image {i} (pause {pause}): {got} != {img}"


def test_axis_deal():
    from pathlib import Path

    from sim import run, sim_build

    wrapper = sim_build("axis_deal", "deal_gather.v")
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(WRAPPER)
    run("deal_gather", "test_axis_deal", {}, generated=[wrapper], test_dir=Path(__file__).parent)

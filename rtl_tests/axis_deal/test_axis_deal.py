"""axis_deal and axis_gather as rtl/top.py joins copies of a kernel: a stream dealt an image at a time to WAYS
copies (here each a 2-entry axis_fifo: shorter than an image, as a kernel that takes its image token by token)
and gathered back (an image leaves the gather's buffer only once whole): the same beats and TLASTs in the same
order, under random backpressure on both ends."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import CLOCK_NS, output_ports, receive, set_pauses, watch_outputs

WIDTH, WAYS, TOKENS = 16, 3, 5  # 3 copies, images of 5 beats (a count that is not a power of two)
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
    wire [{WAYS - 1}:0] d_tvalid, d_tready, g_tvalid, g_tready, g_tlast;
    wire [{WAYS * WIDTH - 1}:0] g_tdata;
    axis_deal #(.WIDTH({WIDTH}), .WAYS({WAYS}), .TOKENS({TOKENS})) deal (.clk(clk), .rst(rst),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast), .m_axis_tdata(d_tdata), .m_axis_tvalid(d_tvalid), .m_axis_tready(d_tready),
        .m_axis_tlast(d_tlast));
    genvar j;
    generate
        for (j = 0; j < {WAYS}; j = j + 1) begin : copy
            axis_fifo #(.WIDTH({WIDTH}), .DEPTH(2)) fifo (.clk(clk), .rst(rst), .s_axis_tdata(d_tdata),
                .s_axis_tvalid(d_tvalid[j]), .s_axis_tready(d_tready[j]), .s_axis_tlast(d_tlast),
                .m_axis_tdata(g_tdata[j*{WIDTH} +: {WIDTH}]), .m_axis_tvalid(g_tvalid[j]),
                .m_axis_tready(g_tready[j]), .m_axis_tlast(g_tlast[j]));
        end
    endgenerate
    axis_gather #(.WIDTH({WIDTH}), .WAYS({WAYS}), .TOKENS({TOKENS}), .DEPTH(8)) gather (.clk(clk), .rst(rst),
        .s_axis_tdata(g_tdata), .s_axis_tvalid(g_tvalid), .s_axis_tready(g_tready), .s_axis_tlast(g_tlast),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast));
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
    # every image a frame of TOKENS beats (TLAST on its last); 3 x WAYS + 1 images: each copy several times
    images = [[rng.getrandbits(WIDTH) for _ in range(TOKENS)] for _ in range(3 * WAYS + 1)]
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

    from sim import SIM_BUILD, run

    wrapper = SIM_BUILD / "axis_deal" / "deal_gather.v"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(WRAPPER)
    run("deal_gather", "test_axis_deal", {}, generated=[wrapper], test_dir=Path(__file__).parent)

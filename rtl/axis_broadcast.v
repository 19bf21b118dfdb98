// axis_broadcast: one AXI-Stream to OUTPUTS consumers (a tensor read by several kernels). Each consumer
// takes the beat when it is ready; the input advances once all have taken it, so consumers need not be
// ready in the same cycle. Output valid never depends on ready (no combinational loops through kernels).
`default_nettype none

module axis_broadcast #(
    parameter integer WIDTH = 8,    // tdata bits
    parameter integer OUTPUTS = 2   // consumers
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [WIDTH-1:0]   s_axis_tdata,
    input  wire               s_axis_tvalid,
    output wire               s_axis_tready,
    input  wire               s_axis_tlast,
    output wire [WIDTH-1:0]   m_axis_tdata,
    output wire [OUTPUTS-1:0] m_axis_tvalid,
    input  wire [OUTPUTS-1:0] m_axis_tready,
    output wire               m_axis_tlast
);
    reg [OUTPUTS-1:0] taken;  // consumers that already took the current beat
    wire [OUTPUTS-1:0] took = taken | (m_axis_tvalid & m_axis_tready);

    assign m_axis_tdata = s_axis_tdata;
    assign m_axis_tlast = s_axis_tlast;
    assign m_axis_tvalid = {OUTPUTS{s_axis_tvalid}} & ~taken;
    assign s_axis_tready = &took;

    always @(posedge clk) begin
        if (rst) taken <= 0;
        else if (s_axis_tvalid) taken <= (&took) ? {OUTPUTS{1'b0}} : took;
    end
endmodule

`default_nettype wire

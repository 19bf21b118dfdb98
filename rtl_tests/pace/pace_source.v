// pace_source: an AXI-Stream source that always has a beat (rtl_tests/pace): pseudo-random data (a 32-bit
// xorshift, repeated across WIDTH), TLAST on every TOKENS-th beat (an image's last).
`default_nettype none

module pace_source #(
    parameter integer WIDTH = 8,   // tdata bits
    parameter integer TOKENS = 1   // beats per image
) (
    input  wire             clk,
    input  wire             rst,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire             m_axis_tlast
);
    reg [31:0] state;
    reg [31:0] beat;
    wire [31:0] s1 = state ^ (state << 13);
    wire [31:0] s2 = s1 ^ (s1 >> 17);
    wire [32 * ((WIDTH + 31) / 32) - 1:0] wide = {((WIDTH + 31) / 32){state}};
    assign m_axis_tdata = wide[WIDTH-1:0];
    assign m_axis_tvalid = !rst;
    assign m_axis_tlast = beat == TOKENS - 1;
    always @(posedge clk) begin
        if (rst) begin
            state <= 32'h2545f491;
            beat <= 0;
        end else if (m_axis_tready) begin
            state <= s2 ^ (s2 << 5);
            beat <= m_axis_tlast ? 0 : beat + 1;
        end
    end
endmodule

`default_nettype wire

// const_stream: a constant tensor of the model file (e.g. the position embedding) as a token stream,
// TOKENS beats from a ROM, TLAST on the last, repeated for every image.
`default_nettype none

module const_stream #(
    parameter integer WIDTH = 8,        // tdata bits: one token
    parameter integer TOKENS = 16,      // beats per image
    parameter ROM_FILE = "const.hex"    // TOKENS words of WIDTH bits, written by rtl/gen.py
) (
    input  wire             clk,
    input  wire             rst,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready,
    output wire             m_axis_tlast
);
    reg [WIDTH-1:0] rom [0:TOKENS-1];
    initial $readmemh(ROM_FILE, rom);

    localparam integer TB = TOKENS > 1 ? $clog2(TOKENS) : 1;  // token index bits
    localparam [TB-1:0] LAST = TOKENS[TB-1:0] - 1'b1;

    reg [TB-1:0] token;
    assign m_axis_tdata = rom[token];
    assign m_axis_tvalid = !rst;
    assign m_axis_tlast = token == LAST;

    always @(posedge clk) begin
        if (rst) token <= 0;
        else if (m_axis_tready) token <= m_axis_tlast ? 0 : token + 1'b1;
    end
endmodule

`default_nettype wire

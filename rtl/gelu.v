// gelu kernel: every element of a token vector through the GELU table of the model file
// (golden_kernels.gelu); one token per cycle, one output register stage with AXI-Stream flow control.
`default_nettype none

module gelu #(
    parameter integer N = 8,            // elements per token (beat)
    parameter integer BITS = 8,         // element width (input and output share the format)
    parameter integer IN_MIN = -128,    // smallest input code: table[i] holds GELU(IN_MIN + i)
    parameter TABLE_FILE = "gelu.hex"   // 2**BITS words of BITS bits
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [N*BITS-1:0] s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,
    output reg  [N*BITS-1:0] m_axis_tdata,
    output reg               m_axis_tvalid,
    input  wire              m_axis_tready,
    output reg               m_axis_tlast
);
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;

    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else if (s_axis_tready) begin
            m_axis_tvalid <= s_axis_tvalid;
            m_axis_tlast <= s_axis_tlast;
        end
    end

    // one single-read-port table per element (a shared many-port memory is what synthesis maps worst)
    genvar g;
    generate
        for (g = 0; g < N; g = g + 1) begin : element
            reg [BITS-1:0] table_rom [0:(1<<BITS)-1];
            initial $readmemh(TABLE_FILE, table_rom);
            // index = code - IN_MIN, modulo 2**BITS (a BITS-wide wire: Icarus widens it inside the brackets)
            wire [BITS-1:0] index = s_axis_tdata[g*BITS +: BITS] - IN_MIN[BITS-1:0];
            always @(posedge clk)
                if (s_axis_tready) m_axis_tdata[g*BITS +: BITS] <= table_rom[index];
        end
    endgenerate
endmodule

`default_nettype wire

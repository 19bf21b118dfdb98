// axis_deal: one AXI-Stream dealt to WAYS copies of a kernel an image at a time (rtl/top.py's copies, for a
// throughput one instance cannot reach): the TOKENS beats of image n go to way n mod WAYS, so every copy sees
// whole images in order and rtl/axis_gather.v, counting the same way, restores the order. Images are counted
// in beats, not by TLAST (some streams carry none); TLAST passes with its beat. Valid never depends on ready.
`default_nettype none

module axis_deal #(
    parameter integer WIDTH = 8,    // tdata bits
    parameter integer WAYS = 2,     // copies (>= 2)
    parameter integer TOKENS = 16   // beats per image on this stream (>= 1)
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [WIDTH-1:0]  s_axis_tdata,
    input  wire              s_axis_tvalid,
    output wire              s_axis_tready,
    input  wire              s_axis_tlast,
    output wire [WIDTH-1:0]  m_axis_tdata,
    output wire [WAYS-1:0]   m_axis_tvalid,
    input  wire [WAYS-1:0]   m_axis_tready,
    output wire              m_axis_tlast
);
    localparam integer WB = $clog2(WAYS);
    localparam integer TB = TOKENS > 1 ? $clog2(TOKENS) : 1;
    localparam integer T1 = TOKENS - 1, W1 = WAYS - 1;
    localparam [TB-1:0] T_LAST = T1[TB-1:0];
    localparam [WB-1:0] W_LAST = W1[WB-1:0];
    reg [WB-1:0] way;  // the copy that takes the current image
    reg [TB-1:0] beat; // beats of the current image already dealt
    wire take = s_axis_tvalid && s_axis_tready;

    assign m_axis_tdata = s_axis_tdata;
    assign m_axis_tlast = s_axis_tlast;
    genvar w;
    generate
        for (w = 0; w < WAYS; w = w + 1) begin : out
            localparam [WB-1:0] W_ID = w;
            assign m_axis_tvalid[w] = s_axis_tvalid && way == W_ID;
        end
    endgenerate
    assign s_axis_tready = m_axis_tready[way];

    always @(posedge clk) begin
        if (rst) begin
            way <= 0;
            beat <= 0;
        end else if (take) begin
            beat <= beat == T_LAST ? {TB{1'b0}} : beat + 1'b1;
            if (beat == T_LAST) way <= way == W_LAST ? {WB{1'b0}} : way + 1'b1;
        end
    end
endmodule

`default_nettype wire

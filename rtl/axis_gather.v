// axis_gather: the outputs of WAYS copies of a kernel joined back into one AXI-Stream, image n (TOKENS beats)
// from way n mod WAYS: the order rtl/axis_deal.v dealt them in. Images are counted in beats; TLAST passes with
// its beat. Valid never depends on ready.
`default_nettype none

module axis_gather #(
    parameter integer WIDTH = 8,    // tdata bits
    parameter integer WAYS = 2,     // copies (>= 2)
    parameter integer TOKENS = 16   // beats per image on this stream (>= 1)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [WAYS*WIDTH-1:0] s_axis_tdata,   // way w's beat in bits [w*WIDTH +: WIDTH]
    input  wire [WAYS-1:0]       s_axis_tvalid,
    output wire [WAYS-1:0]       s_axis_tready,
    input  wire [WAYS-1:0]       s_axis_tlast,
    output wire [WIDTH-1:0]      m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,
    output wire                  m_axis_tlast
);
    localparam integer WB = $clog2(WAYS);
    localparam integer TB = TOKENS > 1 ? $clog2(TOKENS) : 1;
    localparam integer T1 = TOKENS - 1, W1 = WAYS - 1;
    localparam [TB-1:0] T_LAST = T1[TB-1:0];
    localparam [WB-1:0] W_LAST = W1[WB-1:0];
    reg [WB-1:0] way;  // the copy whose image is next
    reg [TB-1:0] beat; // beats of that image already passed on
    wire take = m_axis_tvalid && m_axis_tready;

    assign m_axis_tdata = s_axis_tdata[way*WIDTH +: WIDTH];
    assign m_axis_tvalid = s_axis_tvalid[way];
    assign m_axis_tlast = s_axis_tlast[way];
    genvar w;
    generate
        for (w = 0; w < WAYS; w = w + 1) begin : in
            localparam [WB-1:0] W_ID = w;
            assign s_axis_tready[w] = m_axis_tready && way == W_ID;
        end
    endgenerate

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

// axis_gather: the outputs of WAYS copies of a kernel joined back into one AXI-Stream, image n (TOKENS beats)
// from way n mod WAYS: the order rtl/axis_deal.v dealt them in. Each way is buffered (axis_fifo, DEPTH >=
// TOKENS) and an image leaves only once it is whole (store and forward): a copy works at its own pace, and the
// next kernel gets the image back to back instead of at that pace, so that its own copies are not held for an
// image's whole duration by a slow producer. The output is a register with a skid register beside it, so that
// the buffers' pops (each loads a whole beat) hang off registers, not off m_axis_tready through the way select;
// the two registers are slices (rtl/skid_reg.v) with load enables of their own.
// Images are counted in beats; TLAST passes with its beat. Valid never depends on ready.
`default_nettype none

module axis_gather #(
    parameter integer WIDTH = 8,    // tdata bits
    parameter integer WAYS = 2,     // copies (>= 2)
    parameter integer TOKENS = 16,  // beats per image on this stream (>= 1)
    parameter integer DEPTH = 16    // buffer entries per way, a power of two >= TOKENS (and >= 2)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [WAYS*WIDTH-1:0] s_axis_tdata,   // way w's beat in bits [w*WIDTH +: WIDTH]
    input  wire [WAYS-1:0]       s_axis_tvalid,
    output wire [WAYS-1:0]       s_axis_tready,
    input  wire [WAYS-1:0]       s_axis_tlast,
    output reg  [WIDTH-1:0]      m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam integer TB = TOKENS > 1 ? $clog2(TOKENS) : 1;
    localparam integer CW = $clog2(DEPTH + 3);  // whole images held by a way: <= (DEPTH + 1) / TOKENS + 1
    localparam integer T1 = TOKENS - 1;
    localparam [TB-1:0] T_LAST = T1[TB-1:0];
    reg [WAYS-1:0] on; // one-hot: the copy whose image is next
    reg [TB-1:0] beat; // beats of that image already passed on
    wire [WAYS*WIDTH-1:0] b_tdata;
    wire [WAYS-1:0] b_tvalid, b_tready, b_tlast, whole;
    reg skid_tvalid;  // a beat picked while the output register was full and not taken waits in skid_reg
    // the next beat moves into the output stage: the output stage has room (a register), and the image has
    // begun or is whole
    wire pick = !skid_tvalid && |(b_tvalid & on) && (beat != 0 || |(whole & on));
    wire image_end = pick && beat == T_LAST;

    genvar w;
    generate
        for (w = 0; w < WAYS; w = w + 1) begin : in
            axis_fifo #(.WIDTH(WIDTH), .DEPTH(DEPTH)) buffer (.clk(clk), .rst(rst),
                .s_axis_tdata(s_axis_tdata[w*WIDTH +: WIDTH]), .s_axis_tvalid(s_axis_tvalid[w]),
                .s_axis_tready(s_axis_tready[w]), .s_axis_tlast(s_axis_tlast[w]),
                .m_axis_tdata(b_tdata[w*WIDTH +: WIDTH]), .m_axis_tvalid(b_tvalid[w]), .m_axis_tready(b_tready[w]),
                .m_axis_tlast(b_tlast[w]));
            reg [TB-1:0] in_beat;  // beats of the image being buffered
            reg [CW-1:0] images;   // images whose last beat is buffered and not yet passed on
            wire in_end = s_axis_tvalid[w] && s_axis_tready[w] && in_beat == T_LAST;
            wire out_end = image_end && on[w];
            always @(posedge clk) begin
                if (rst) begin
                    in_beat <= 0;
                    images <= 0;
                end else begin
                    if (s_axis_tvalid[w] && s_axis_tready[w]) in_beat <= in_end ? {TB{1'b0}} : in_beat + 1'b1;
                    if (in_end != out_end) images <= in_end ? images + 1'b1 : images - 1'b1;
                end
            end
            assign whole[w] = images != 0;
            assign b_tready[w] = !skid_tvalid && on[w] && (beat != 0 || whole[w]);
        end
    endgenerate

    // the picked beat as an AND-OR over the ways with the one-hot select: each select bit drives WIDTH gates,
    // not every bit of a WAYS:1 multiplexer
    wire [WAYS*WIDTH-1:0] gated;
    wire [WIDTH-1:0] pick_tdata;
    generate
        for (w = 0; w < WAYS; w = w + 1) begin : gate
            assign gated[w*WIDTH +: WIDTH] = b_tdata[w*WIDTH +: WIDTH] & {WIDTH{on[w]}};
        end
    endgenerate
    integer i;
    reg [WIDTH-1:0] any;
    always @* begin
        any = {WIDTH{1'b0}};
        for (i = 0; i < WAYS; i = i + 1) any = any | gated[i*WIDTH +: WIDTH];
    end
    assign pick_tdata = any;
    wire [WIDTH:0] pick_beat = {|(b_tlast & on), pick_tdata};
    wire [WIDTH:0] out_beat;  // {tlast, tdata} of the output register
    wire out_free = !m_axis_tvalid || m_axis_tready;  // the output register may load this cycle
    localparam integer SW = 128;  // bits per output slice (skid_reg): one load enable each
    genvar s;
    generate
        for (s = 0; s < WIDTH + 1; s = s + SW) begin : out
            localparam integer BITS = WIDTH + 1 - s < SW ? WIDTH + 1 - s : SW;
            wire [BITS-1:0] q;
            skid_reg #(.WIDTH(BITS)) slice (.clk(clk), .out_valid(m_axis_tvalid), .out_ready(m_axis_tready),
                .skid_valid(skid_tvalid), .d(pick_beat[s +: BITS]), .q(q));
            assign out_beat[s +: BITS] = q;
        end
    endgenerate
    always @* {m_axis_tlast, m_axis_tdata} = out_beat;
    always @(posedge clk) begin
        if (rst) begin
            on <= 1;
            beat <= 0;
            m_axis_tvalid <= 1'b0;
            skid_tvalid <= 1'b0;
        end else begin
            if (out_free) begin
                m_axis_tvalid <= skid_tvalid || pick;
                skid_tvalid <= 1'b0;
            end else if (pick) begin
                skid_tvalid <= 1'b1;
            end
            if (pick) begin
                beat <= beat == T_LAST ? {TB{1'b0}} : beat + 1'b1;
                if (beat == T_LAST) on <= {on[WAYS-2:0], on[WAYS-1]};
            end
        end
    end
endmodule

`default_nettype wire

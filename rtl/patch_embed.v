// patch_embed kernel: the pixel stream of an image (PIX_PER_BEAT pixels per beat, C-order [C, H, W], TLAST
// on the image's last beat) is checked, stored, and cut into non-overlapping PxP patches; each patch
// vector (c, kh, kw order, as the weights) goes through a linear kernel: one token per patch, row-major
// over the patch grid (golden_kernels.patch_embed). A frame whose TLAST is not on beat H*W*C/PIX_PER_BEAT
// is dropped whole and reported on frame_error.
`default_nettype none

module patch_embed #(
    parameter integer C = 1, H = 8, W = 8,   // image channels, height, width
    parameter integer P = 2,                 // patch size = stride
    parameter integer PIX_BITS = 8,          // unsigned pixel width
    parameter integer PIX_PER_BEAT = 4,      // pixels per input beat, a power of two (>= 2) dividing C*H*W
    // the projection, as rtl/linear.v
    parameter integer N_OUT = 8, LANES = 4, W_BITS = 8, ACC_BITS = 32, OUT_BITS = 8, SHIFT = 0,
    parameter integer OUT_MIN = -128, OUT_MAX = 127,
    parameter integer SIMD = 1, MUL_SPLIT = 0,  // patch elements per cycle per lane; lane pairs as rtl/linear.v's
    parameter WEIGHT_FILE = "weight.hex", BIAS_FILE = "bias.hex"
) (
    input  wire                         clk,
    input  wire                         rst,
    input  wire                         enable,       // accept pixels (the control register's RUN bit)
    input  wire [PIX_PER_BEAT*PIX_BITS-1:0] s_axis_tdata,
    input  wire                         s_axis_tvalid,
    output wire                         s_axis_tready,
    input  wire                         s_axis_tlast,
    output wire [N_OUT*OUT_BITS-1:0]    m_axis_tdata,
    output wire                         m_axis_tvalid,
    input  wire                         m_axis_tready,
    output wire                         m_axis_tlast,
    output wire                         frame_begin,  // pulse: first beat of a frame accepted
    output wire                         frame_ok,     // pulse: a whole, well-formed frame stored
    output wire                         frame_error   // pulse: a frame with TLAST misplaced, dropped
);
    localparam integer N_IN = C * P * P;
    localparam integer BEATS = C * H * W / PIX_PER_BEAT;
    localparam integer LOG_PPB = $clog2(PIX_PER_BEAT);
    localparam integer AB = $clog2(C * H * W);   // pixel address; its counters (below) have this width too
    localparam integer BB = $clog2(BEATS + 2);   // beat counter
    localparam integer EB = $clog2(N_IN + 1);    // patch element counter
    // constants as AB / BB / EB-bit part-selects below
    localparam integer LAST_BEAT = BEATS - 1, LAST_K = P - 1, LAST_E = N_IN - 1;
    localparam integer LAST_PH = H / P - 1, LAST_PW = W / P - 1, HW = H * W;

    // ---- input: store a frame, counting beats to check TLAST
    reg [PIX_PER_BEAT*PIX_BITS-1:0] image [0:BEATS-1];
    reg loading;                              // 1 while accepting the pixels of the next frame
    reg [BB-1:0] beat;                        // beats of the current frame so far (saturates at BEATS)
    assign s_axis_tready = loading && enable;
    wire take = s_axis_tvalid && s_axis_tready;
    wire whole = beat == LAST_BEAT[BB-1:0];
    assign frame_begin = take && beat == 0;
    assign frame_ok = take && s_axis_tlast && whole;
    assign frame_error = take && s_axis_tlast && !whole;

    always @(posedge clk) if (take && beat < BEATS[BB-1:0]) image[beat[AB-LOG_PPB-1:0]] <= s_axis_tdata;

    // ---- gather: patch vectors, one pixel per cycle from the stored frame
    reg [AB-1:0] ph, pw;                      // patch grid row, column of the current token
    reg [AB-1:0] ec, ekh, ekw;                // next element to read: channel, row, column in the patch
    reg [EB-1:0] e, rd_e;                     // element index being read / arriving
    reg reading, rd_valid, tok_full;
    reg [N_IN*PIX_BITS-1:0] tok;
    reg [PIX_PER_BEAT*PIX_BITS-1:0] rd_word;
    reg [LOG_PPB-1:0] rd_byte;
    // (HW[AB-1:0] wraps to 0 when C = 1, where ec is 0 anyway)
    wire [AB-1:0] addr = ec * HW[AB-1:0] + (ph * P[AB-1:0] + ekh) * W[AB-1:0] + pw * P[AB-1:0] + ekw;
    wire last_token = ph == LAST_PH[AB-1:0] && pw == LAST_PW[AB-1:0];
    wire tok_ready;

    always @(posedge clk) begin
        if (rst) begin
            loading <= 1'b1;
            beat <= 0;
            reading <= 1'b0;
            rd_valid <= 1'b0;
            tok_full <= 1'b0;
            {ph, pw, ec, ekh, ekw, e} <= 0;
        end else begin
            if (take) begin
                beat <= s_axis_tlast ? 0 : (beat < BEATS[BB-1:0] ? beat + 1'b1 : beat);
                // gather the frame's tokens before loading the next; the gather counters are 0 already (reset,
                // or cleared with the last token), so the frame's end reaches two flip-flops, not ~30 counter
                // enables (in the tiny vit's whole top that was four LUTs and 5 ns of route from the input)
                if (frame_ok) begin
                    loading <= 1'b0;
                    reading <= 1'b1;
                end
            end
            // issue one read per cycle until the token's last element
            rd_valid <= reading;
            if (reading) begin
                rd_word <= image[addr[AB-1:LOG_PPB]];
                rd_byte <= addr[LOG_PPB-1:0];
                rd_e <= e;
                e <= e + 1'b1;
                if (ekw != LAST_K[AB-1:0]) ekw <= ekw + 1'b1;
                else begin
                    ekw <= 0;
                    if (ekh != LAST_K[AB-1:0]) ekh <= ekh + 1'b1;
                    else begin
                        ekh <= 0;
                        ec <= ec + 1'b1;
                    end
                end
                if (e == LAST_E[EB-1:0]) reading <= 1'b0;
            end
            if (rd_valid) begin
                tok[rd_e*PIX_BITS +: PIX_BITS] <= rd_word[rd_byte*PIX_BITS +: PIX_BITS];
                if (rd_e == LAST_E[EB-1:0]) tok_full <= 1'b1;
            end
            // token handed to the projection: next patch, or back to loading after the last
            if (tok_full && tok_ready) begin
                tok_full <= 1'b0;
                {ec, ekh, ekw, e} <= 0;
                if (last_token) begin
                    loading <= 1'b1;
                    {ph, pw} <= 0;
                end else begin
                    reading <= 1'b1;
                    if (pw != LAST_PW[AB-1:0]) pw <= pw + 1'b1;
                    else begin
                        pw <= 0;
                        ph <= ph + 1'b1;
                    end
                end
            end
        end
    end

    linear #(.N_IN(N_IN), .N_OUT(N_OUT), .LANES(LANES), .IN_BITS(PIX_BITS), .IN_SIGNED(0), .W_BITS(W_BITS),
             .ACC_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX),
             .SIMD(SIMD), .MUL_SPLIT(MUL_SPLIT), .WEIGHT_FILE(WEIGHT_FILE), .BIAS_FILE(BIAS_FILE))
        projection (.clk(clk), .rst(rst),
                    .s_axis_tdata(tok), .s_axis_tvalid(tok_full), .s_axis_tready(tok_ready),
                    .s_axis_tlast(last_token),
                    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
                    .m_axis_tlast(m_axis_tlast));
endmodule

`default_nettype wire

// image_tokens kernel: the accelerator's pixel input for a model whose first op reads the image itself (a
// conv): the pixel stream of an image (PIX_PER_BEAT pixels per beat, C-order [C, H, W] as the DMA sends it,
// TLAST on the image's last beat) is checked and stored, then sent as H*W tokens of C pixels (channels-last,
// raster order; channel 0 in the low bits), one token per cycle. The frame check is rtl/patch_embed.v's: a
// frame whose TLAST is not on beat C*H*W/PIX_PER_BEAT is dropped whole and reported on frame_error;
// frame_begin / frame_ok / frame_error pulse as there (rtl/accel_ctrl.v counts them). Each channel plane has
// its own memory (a beat never straddles two planes: PIX_PER_BEAT divides H*W), so one read of every plane
// gives a whole token: address register -> plane words -> pixel select into the output register.
`default_nettype none

module image_tokens #(
    parameter integer C = 1, H = 8, W = 8,   // image channels, height, width
    parameter integer PIX_BITS = 8,          // pixel width
    parameter integer PIX_PER_BEAT = 4       // pixels per input beat, a power of two (>= 2); H*W/PIX_PER_BEAT >= 2
) (
    input  wire                             clk,
    input  wire                             rst,
    input  wire                             enable,       // accept pixels (the control register's RUN bit)
    input  wire [PIX_PER_BEAT*PIX_BITS-1:0] s_axis_tdata,
    input  wire                             s_axis_tvalid,
    output wire                             s_axis_tready,
    input  wire                             s_axis_tlast,
    output reg  [C*PIX_BITS-1:0]            m_axis_tdata,
    output reg                              m_axis_tvalid,
    input  wire                             m_axis_tready,
    output reg                              m_axis_tlast,
    output wire                             frame_begin,  // pulse: first beat of a frame accepted
    output wire                             frame_ok,     // pulse: a whole, well-formed frame stored
    output wire                             frame_error   // pulse: a frame with TLAST misplaced, dropped
);
    localparam integer HW = H * W;
    localparam integer WORDS = HW / PIX_PER_BEAT;  // beats per channel plane
    localparam integer BEATS = C * WORDS;
    localparam integer LOG_PPB = $clog2(PIX_PER_BEAT);
    localparam integer PB = $clog2(HW);            // pixel index within a plane
    localparam integer BB = $clog2(BEATS + 2);     // beat counter
    localparam integer CB = $clog2(C + 1);         // plane being written (C once the frame is complete)
    // constants, used as BB / word / PB-bit part-selects below
    localparam integer LAST_BEAT = BEATS - 1, LAST_WORD = WORDS - 1, LAST_PIXEL = HW - 1;

    // ---- input: store a frame, counting beats to check TLAST (as rtl/patch_embed.v)
    reg loading;                                   // 1 while accepting the pixels of the next frame
    reg [BB-1:0] beat;                             // beats of the current frame so far (saturates at BEATS)
    reg [CB-1:0] wr_plane;
    reg [PB-LOG_PPB-1:0] wr_word;
    assign s_axis_tready = loading && enable;
    wire take = s_axis_tvalid && s_axis_tready;
    wire whole = beat == LAST_BEAT[BB-1:0];
    wire store = take && beat < BEATS[BB-1:0];
    assign frame_begin = take && beat == 0;
    assign frame_ok = take && s_axis_tlast && whole;
    assign frame_error = take && s_axis_tlast && !whole;

    // ---- output: pixel p of every plane -> one token
    wire advance = !m_axis_tvalid || m_axis_tready;  // the output register can take the next token
    reg reading;
    reg [PB-1:0] pixel;                            // next token to read
    wire issue = advance && reading;
    reg [LOG_PPB-1:0] rd_sel;                      // the token's pixel within the words read
    reg rd_valid, rd_last;

    genvar c;
    generate
        for (c = 0; c < C; c = c + 1) begin : plane
            reg [PIX_PER_BEAT*PIX_BITS-1:0] mem [0:WORDS-1];
            reg [PIX_PER_BEAT*PIX_BITS-1:0] word;  // read register
            always @(posedge clk) begin
                if (store && wr_plane == c) mem[wr_word] <= s_axis_tdata;
                if (issue) word <= mem[pixel[PB-1:LOG_PPB]];
                if (advance && rd_valid) m_axis_tdata[c*PIX_BITS +: PIX_BITS] <= word[rd_sel*PIX_BITS +: PIX_BITS];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            loading <= 1'b1;
            beat <= 0;
            wr_plane <= 0;
            wr_word <= 0;
            reading <= 1'b0;
            pixel <= 0;
            rd_sel <= 0;
            rd_valid <= 1'b0;
            rd_last <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (take) begin
                beat <= s_axis_tlast ? {BB{1'b0}} : (store ? beat + 1'b1 : beat);
                if (s_axis_tlast) begin
                    wr_plane <= 0;
                    wr_word <= 0;
                end else if (store) begin
                    wr_word <= wr_word == LAST_WORD[PB-LOG_PPB-1:0] ? {(PB-LOG_PPB){1'b0}} : wr_word + 1'b1;
                    if (wr_word == LAST_WORD[PB-LOG_PPB-1:0]) wr_plane <= wr_plane + 1'b1;
                end
                if (frame_ok) begin  // send the frame's tokens before loading the next
                    loading <= 1'b0;
                    reading <= 1'b1;
                    pixel <= 0;
                end
            end
            if (advance) begin
                rd_valid <= issue;
                rd_last <= pixel == LAST_PIXEL[PB-1:0];
                rd_sel <= pixel[LOG_PPB-1:0];
                m_axis_tvalid <= rd_valid;
                m_axis_tlast <= rd_last;
            end
            if (issue) begin
                pixel <= pixel + 1'b1;
                if (pixel == LAST_PIXEL[PB-1:0]) begin  // the last words are read now: the next frame may load
                    reading <= 1'b0;
                    loading <= 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire

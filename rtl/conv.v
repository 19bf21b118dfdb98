// conv kernel: a K x K convolution (STRIDE, zero padding PAD, groups 1 or depthwise) over a channels-last
// pixel stream (golden_kernels.conv2d). Input: one pixel per beat (its C_IN channels, channel 0 in the LSBs),
// raster order (h, w); a frame is H*W beats (TLAST is not looked at: the pixel count ends a frame). Output:
// one token per output pixel (its N_OUT channels), raster order, TLAST on the image's last pixel.
// The images are tiny (8x8, 4x4), so the line buffer holds all H lines: a frame buffer of one word (C_IN
// elements) per pixel, two banks (ping-pong) so that the next image loads while this one is gathered.
// A gather stage walks the output pixels and, for each, its K*K taps (kh, kw) one per cycle; a tap reads
// one buffer word, or 0 outside the image (golden's np.pad), into its slot of the im2col vector
// (element (kh*K + kw)*C_IN + c; rtl/gen.py's conv_params permutes the weights to that order). The full vector
// goes to an embedded rtl/linear.v: N_IN = K*K*C_IN, or with DEPTHWISE N_IN = K*K taps of C_IN = N_OUT
// channels, tap-major, each lane multiplying its own channel. The next pixel's vector is gathered while the
// linear works on this one: K*K + 5 cycles per output pixel against the linear's
// ceil(N_OUT/LANES) * N_IN/SIMD, so the linear sets the pace unless it is faster than the gather.
// Gather pipeline (one small adder or comparator per stage): 0. counters (output pixel, tap), 1. tap row and
// column (may be outside the image), 2. inside test and buffer address, 3. buffer read, 4. the read word
// registered (the RAM's output register), 5. written into its slot of the vector, or 0 outside the image.
`default_nettype none

module conv #(
    parameter integer H = 8, W = 8,     // input image height, width (pixels)
    parameter integer C_IN = 1,         // input channels: elements per input beat
    parameter integer K = 3,            // kernel size: K x K taps (>= 1)
    parameter integer STRIDE = 1,       // output pixel step on the input (>= 1)
    parameter integer PAD = 1,          // zero rows / columns on each side of the image (< K)
    parameter integer IN_BITS = 8,      // input element width
    parameter integer IN_SIGNED = 1,    // 1: two's complement input, 0: unsigned (pixels, ReLU outputs)
    // the projection, as rtl/linear.v (N_IN derived here)
    parameter integer N_OUT = 8,        // output channels (= C_IN with DEPTHWISE)
    parameter integer LANES = 4,        // parallel MAC lanes
    parameter integer SIMD = 1,         // input elements per cycle per lane
    parameter integer DEPTHWISE = 0,    // 1: groups = C_IN = N_OUT (each output channel sees its own channel)
    parameter integer W_BITS = 8,       // weight width (narrow-range signed)
    parameter integer ACC_BITS = 32,    // accumulator width
    parameter integer OUT_BITS = 8,     // output element width
    parameter integer SHIFT = 0,        // requantization right shift (round half to even)
    parameter integer OUT_MIN = -128,   // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter integer MUL_SPLIT = 0,    // lane pairs: 0 packed (mul2), 1 split (mul2_split), 2 a multiplier per lane
    parameter WEIGHT_FILE = "weight.hex", // the linear's weight ROM, im2col order (kh, kw, c)
    parameter BIAS_FILE = "bias.hex"      // the linear's bias ROM
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [C_IN*IN_BITS-1:0]   s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    /* verilator lint_off UNUSEDSIGNAL */  // frames reaching a conv are well formed (the top checks its input)
    input  wire                      s_axis_tlast,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [N_OUT*OUT_BITS-1:0] m_axis_tdata,
    output wire                      m_axis_tvalid,
    input  wire                      m_axis_tready,
    output wire                      m_axis_tlast
);
    localparam integer H_OUT = (H + 2*PAD - K) / STRIDE + 1;
    localparam integer W_OUT = (W + 2*PAD - K) / STRIDE + 1;
    localparam integer TAPS = K * K;
    localparam integer WORD = C_IN * IN_BITS;                   // one pixel: one buffer word
    localparam integer N_IN = DEPTHWISE != 0 ? TAPS : TAPS * C_IN;
    localparam integer PIXELS = H * W;
    localparam integer AB = PIXELS > 1 ? $clog2(PIXELS) : 1;    // pixel address within a bank
    localparam integer CB = $clog2(PIXELS + H + W + 2*K) + 1;  // tap row / column, two's complement (>= AB+1)
    localparam integer KB = K > 1 ? $clog2(K) : 1;
    localparam integer TB = TAPS > 1 ? $clog2(TAPS) : 1;
    localparam integer OB = (H_OUT > W_OUT ? H_OUT : W_OUT) > 1 ? $clog2(H_OUT > W_OUT ? H_OUT : W_OUT) : 1;
    // constants as part-selects of their counters' widths below
    localparam integer LAST_PIX = PIXELS - 1, LAST_K = K - 1, LAST_OH = H_OUT - 1, LAST_OW = W_OUT - 1;
    localparam integer NEG_PAD = (1 << CB) - PAD;               // -PAD in CB bits

    // ---- frame buffer: word {bank, pixel}; a bank is full from its last pixel's write to its last read
    reg [WORD-1:0] frame [0:(2 << AB)-1];
    reg [1:0] full;
    reg wbank;                 // bank being loaded
    reg [AB-1:0] wpix;         // its next pixel
    assign s_axis_tready = !full[wbank];
    wire take_px = s_axis_tvalid && s_axis_tready;
    wire load_end = take_px && wpix == LAST_PIX[AB-1:0];
    always @(posedge clk) if (take_px) frame[{wbank, wpix}] <= s_axis_tdata;

    // ---- stage 0: one tap per cycle while the bank is full and the vector is free
    reg rbank;                 // bank being gathered
    reg [OB-1:0] oh, ow;       // output pixel
    reg [KB-1:0] kh, kw;       // tap
    reg [TB-1:0] tap;          // kh*K + kw
    reg [CB-1:0] row0, col0;   // oh*STRIDE - PAD, ow*STRIDE - PAD: the window's top-left input pixel
    reg wait_take;             // this pixel's taps are issued; the next wait for the vector's hand-over
    wire issue = full[rbank] && !wait_take;
    wire tap_last = kh == LAST_K[KB-1:0] && kw == LAST_K[KB-1:0];
    wire ow_last = ow == LAST_OW[OB-1:0];
    wire img_last = ow_last && oh == LAST_OH[OB-1:0];

    // ---- stages 1-5: flags travel beside the data; [k] is stage k's
    reg [4:1] pv;              // valid
    reg [4:1] pp;              // the tap is its pixel's last
    reg [4:1] pi;              // ... and the pixel is the image's last
    reg [TB-1:0] pt [1:4];     // tap slot
    reg [CB-1:0] r1, c1;       // stage 1: tap row, column
    reg [4:2] pz;              // stage 2 on: tap outside the image (reads as 0)
    reg [AB:0] a2;             // stage 2: buffer address {bank, pixel}
    reg b1;                    // stage 1: bank
    reg [WORD-1:0] d3, d4;     // stages 3, 4: the buffer word
    integer s;
    always @(posedge clk) begin
        pt[1] <= tap;
        for (s = 2; s <= 4; s = s + 1) pt[s] <= pt[s-1];
        pp <= {pp[3:1], tap_last};
        pi <= {pi[3:1], tap_last && img_last};
        r1 <= row0 + {{(CB-KB){1'b0}}, kh};
        c1 <= col0 + {{(CB-KB){1'b0}}, kw};
        b1 <= rbank;
        // negative rows / columns are large unsigned numbers: one compare per bound
        pz <= {pz[3:2], !(r1 < H[CB-1:0] && c1 < W[CB-1:0])};
        a2 <= {b1, r1[AB-1:0] * W[AB-1:0] + c1[AB-1:0]};
        d3 <= frame[a2];
        d4 <= d3;
        if (rst) pv <= 0;
        else pv <= {pv[3:1], issue};
    end

    // ---- stage 5: the im2col vector, one slot per tap
    reg [TAPS*WORD-1:0] vec;
    reg vec_full, vec_last;
    wire vec_ready;            // the linear takes the vector
    wire hand_over = vec_full && vec_ready;
    genvar t;
    generate
        for (t = 0; t < TAPS; t = t + 1) begin : slot
            localparam integer T = t;
            always @(posedge clk)
                if (pv[4] && pt[4] == T[TB-1:0]) vec[t*WORD +: WORD] <= pz[4] ? {WORD{1'b0}} : d4;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            full <= 2'b00;
            wbank <= 1'b0;
            wpix <= 0;
            rbank <= 1'b0;
            {oh, ow, kh, kw, tap} <= 0;
            row0 <= NEG_PAD[CB-1:0];
            col0 <= NEG_PAD[CB-1:0];
            wait_take <= 1'b0;
            vec_full <= 1'b0;
            vec_last <= 1'b0;
        end else begin
            // load
            if (take_px) wpix <= load_end ? 0 : wpix + 1'b1;
            if (load_end) begin
                full[wbank] <= 1'b1;
                wbank <= !wbank;
            end
            // the image's last read (stage 3 reads the buffer on this edge) frees its bank
            if (pv[2] && pi[2]) full[a2[AB]] <= 1'b0;
            // issue: next tap, next output pixel, next image
            if (issue) begin
                tap <= tap_last ? 0 : tap + 1'b1;
                kw <= kw == LAST_K[KB-1:0] ? 0 : kw + 1'b1;
                if (kw == LAST_K[KB-1:0]) kh <= tap_last ? 0 : kh + 1'b1;
                if (tap_last) begin
                    wait_take <= 1'b1;
                    ow <= ow_last ? 0 : ow + 1'b1;
                    col0 <= ow_last ? NEG_PAD[CB-1:0] : col0 + STRIDE[CB-1:0];
                    if (ow_last) begin
                        oh <= img_last ? 0 : oh + 1'b1;
                        row0 <= img_last ? NEG_PAD[CB-1:0] : row0 + STRIDE[CB-1:0];
                    end
                    if (img_last) rbank <= !rbank;
                end
            end
            // a pixel's last tap completes the vector; the linear's take frees it
            if (pv[4] && pp[4]) begin
                vec_full <= 1'b1;
                vec_last <= pi[4];
            end
            if (hand_over) begin
                vec_full <= 1'b0;
                wait_take <= 1'b0;
            end
        end
    end

    linear #(.N_IN(N_IN), .N_OUT(N_OUT), .LANES(LANES), .SIMD(SIMD), .DEPTHWISE(DEPTHWISE), .IN_BITS(IN_BITS),
             .IN_SIGNED(IN_SIGNED), .W_BITS(W_BITS), .ACC_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT),
             .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX), .MUL_SPLIT(MUL_SPLIT), .WEIGHT_FILE(WEIGHT_FILE),
             .BIAS_FILE(BIAS_FILE))
        projection (.clk(clk), .rst(rst),
                    .s_axis_tdata(vec), .s_axis_tvalid(vec_full), .s_axis_tready(vec_ready),
                    .s_axis_tlast(vec_last),
                    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
                    .m_axis_tlast(m_axis_tlast));
endmodule

`default_nettype wire

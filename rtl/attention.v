// attention kernel: multi-head self-attention core with the base-2 integer softmax (golden_kernels.attention).
// Three token streams q, k, v (one token of D = HEADS*HD int8 elements per beat, element 0 in the LSBs) are
// buffered a whole image at a time in two banks per stream, so the next image loads while this one computes
// and the three streams may arrive in any interleaving. One job = one (query token, head); jobs run in a
// four-stage pipeline advancing together every SLOT cycles:
//   S: one key per cycle: scores s_j = q_i,h . k_j,h (+ bias), running max; the HD-term dot product in LUTs
//      (lutdot.v, radix-4 Booth), no DSP
//   X: t_j = floor((s_j - max) onto 2**-EXP_IN_FRAC), clamped; e_j = lut[t mod 2**E] >> -(t div 2**E); sum
//   V: inv = floor(2**RECIP_BITS / sum), restoring division, two quotient bits per cycle
//   C: p_j = min(e_j*inv >> PROB_SHIFT, PROB_MAX) (one DSP); HD/2 multipliers (DSPs), each two lanes' products
//      packed, accumulate ctx_d = sum_j p_j v_j,h,d;
//      requantized (requant.v) into head h's slice of output token i, sent after the last head.
// Backpressure: while the previous output token is not yet taken, the whole pipeline waits at the end of the
// slot that would replace it (only there: every stage does per-cycle work earlier in the slot).
// Optional (Swin): HAS_BIAS adds a [HEADS, N, N] bias ROM on the common grid; HAS_MASK zeroes the masked
// probabilities of a [WINDOWS, N, N] mask ROM, window = frame index mod WINDOWS (one frame = N tokens).
// Image ends are counted (N beats); the input TLASTs are not needed. All constants come from rtl/gen.py.
`default_nettype none

module attention #(
    parameter integer N = 16,             // tokens per image (frame), >= 2
    parameter integer D = 48,             // elements per token, HEADS * head dim
    parameter integer HEADS = 3,          // attention heads (divides D)
    parameter integer BITS = 8,           // q, k, v element width (signed)
    parameter integer SCORE_BITS = 20,    // signed score width on the common grid (worst case, with bias)
    parameter integer DOT_SHIFT = 0,      // left shift of q.k onto the common grid (bias grid finer)
    parameter integer S_SHIFT = 6,        // common grid frac - EXP_IN_FRAC: floor right shift (< 0: left shift)
    parameter integer EXP_IN_FRAC = 4,    // spec.SOFTMAX_EXP_IN_FRAC: exponent input grid
    parameter integer MIN_SHIFT = 16,     // spec.SOFTMAX_MIN_SHIFT: t is clamped at -(MIN_SHIFT << EXP_IN_FRAC)
    parameter integer LUT_BITS = 16,      // exp2 table entry width
    parameter integer SUM_BITS = 20,      // sum of N exponentials (worst case)
    parameter integer RECIP_BITS = 32,    // spec.SOFTMAX_RECIP_BITS: inv = floor(2**RECIP_BITS / sum)
    parameter integer INV_BITS = 18,      // width of inv (sum >= lut[0] bounds it)
    parameter integer PROB_BITS = 8,      // probability width (unsigned)
    parameter integer PROB_SHIFT = 24,    // RECIP_BITS - PROB frac
    parameter integer PROB_MAX = 255,     // probability saturation
    parameter integer CTX_BITS = 20,      // signed context accumulator (worst case)
    parameter integer OUT_BITS = 8,       // output element width
    parameter integer OUT_SHIFT = 7,      // PROB frac + v frac - out frac: right shift, round half to even (>= 0)
    parameter integer OUT_MIN = -128,     // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter LUT_FILE = "exp2.hex",      // 2**EXP_IN_FRAC words of LUT_BITS bits: lut[r] = 2**(r/2**E) on 2**-15
    parameter integer HAS_BIAS = 0,       // 1: add the relative-position bias ROM
    parameter integer BIAS_BITS = 8,      // bias entry width (signed)
    parameter integer BIAS_SHIFT = 0,     // left shift of the bias onto the common grid
    parameter BIAS_FILE = "",             // HEADS*N*N words, index (h*N + i)*N + j
    parameter integer HAS_MASK = 0,       // 1: apply the window mask ROM
    parameter integer WINDOWS = 1,        // mask windows (frames cycle through them)
    parameter MASK_FILE = ""              // WINDOWS*N*N words of 1 bit, index (w*N + i)*N + j, 0 = masked
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [D*BITS-1:0]     s_axis_q_tdata,
    input  wire                  s_axis_q_tvalid,
    output wire                  s_axis_q_tready,
    input  wire                  s_axis_q_tlast,
    input  wire [D*BITS-1:0]     s_axis_k_tdata,
    input  wire                  s_axis_k_tvalid,
    output wire                  s_axis_k_tready,
    input  wire                  s_axis_k_tlast,
    input  wire [D*BITS-1:0]     s_axis_v_tdata,
    input  wire                  s_axis_v_tvalid,
    output wire                  s_axis_v_tready,
    input  wire                  s_axis_v_tlast,
    output reg  [D*OUT_BITS-1:0] m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam integer HD = D / HEADS;
    localparam integer TOKW = D * BITS;
    localparam integer HW = HD * BITS;
    localparam integer OHW = HD * OUT_BITS;
    localparam integer TB = $clog2(N);                         // token index bits
    localparam integer HB = HEADS > 1 ? $clog2(HEADS) : 1;     // head index bits
    localparam integer WB = WINDOWS > 1 ? $clog2(WINDOWS) : 1; // window index bits
    localparam integer DIV_CYCLES = (INV_BITS + 1) / 2;
    localparam integer SLOT = N + 2 > DIV_CYCLES + 1 ? N + 2 : DIV_CYCLES + 1;  // cycles per pipeline step
    localparam integer CB = $clog2(SLOT);
    localparam integer LSH = S_SHIFT < 0 ? -S_SHIFT : 0;
    localparam integer RSH = S_SHIFT > 0 ? S_SHIFT : 0;
    localparam integer TW = SCORE_BITS + 1 + LSH;              // s - max on the exponent grid
    localparam integer T_MIN = -(MIN_SHIFT << EXP_IN_FRAC);
    localparam integer SHW = $clog2(MIN_SHIFT + 1);            // exponent right shift 0..MIN_SHIFT
    localparam integer REMW = SUM_BITS + 1;
    localparam integer PRODW = LUT_BITS + INV_BITS;
    localparam integer PS = PROB_BITS + BITS;                  // packed context product field

    // ---------------- input buffers: per stream two banks of N tokens --------------------------------------
    reg [TOKW-1:0] q_mem [0:(2<<TB)-1];
    reg [TOKW-1:0] k_mem [0:(2<<TB)-1];
    reg [TOKW-1:0] v_mem [0:(2<<TB)-1];
    reg [1:0] q_done, k_done, v_done;  // bank holds a whole image of this stream
    reg [1:0] issued;                  // every job of the bank has entered the pipeline
    reg q_wbank, k_wbank, v_wbank;
    reg [TB-1:0] q_wcnt, k_wcnt, v_wcnt;
    reg release_en;                    // the last job of bank release_bank leaves stage C
    reg release_bank;

    assign s_axis_q_tready = !q_done[q_wbank];
    assign s_axis_k_tready = !k_done[k_wbank];
    assign s_axis_v_tready = !v_done[v_wbank];
    wire q_take = s_axis_q_tvalid && s_axis_q_tready;
    wire k_take = s_axis_k_tvalid && s_axis_k_tready;
    wire v_take = s_axis_v_tvalid && s_axis_v_tready;
    wire unused_tlast = &{1'b0, s_axis_q_tlast, s_axis_k_tlast, s_axis_v_tlast};

    always @(posedge clk) begin
        if (q_take) q_mem[{q_wbank, q_wcnt}] <= s_axis_q_tdata;
        if (k_take) k_mem[{k_wbank, k_wcnt}] <= s_axis_k_tdata;
        if (v_take) v_mem[{v_wbank, v_wcnt}] <= s_axis_v_tdata;
    end

    integer b;
    always @(posedge clk) begin
        if (rst) begin
            q_done <= 2'b00; k_done <= 2'b00; v_done <= 2'b00;
            q_wbank <= 1'b0; k_wbank <= 1'b0; v_wbank <= 1'b0;
            q_wcnt <= 0; k_wcnt <= 0; v_wcnt <= 0;
        end else begin
            if (q_take) begin
                q_wcnt <= q_wcnt == N - 1 ? 0 : q_wcnt + 1;
                if (q_wcnt == N - 1) q_wbank <= !q_wbank;
            end
            if (k_take) begin
                k_wcnt <= k_wcnt == N - 1 ? 0 : k_wcnt + 1;
                if (k_wcnt == N - 1) k_wbank <= !k_wbank;
            end
            if (v_take) begin
                v_wcnt <= v_wcnt == N - 1 ? 0 : v_wcnt + 1;
                if (v_wcnt == N - 1) v_wbank <= !v_wbank;
            end
            for (b = 0; b < 2; b = b + 1) begin  // a released bank is full, so it is not being written
                if (release_en && release_bank == b) begin
                    q_done[b] <= 1'b0; k_done[b] <= 1'b0; v_done[b] <= 1'b0;
                end else begin
                    if (q_take && q_wcnt == N - 1 && q_wbank == b) q_done[b] <= 1'b1;
                    if (k_take && k_wcnt == N - 1 && k_wbank == b) k_done[b] <= 1'b1;
                    if (v_take && v_wcnt == N - 1 && v_wbank == b) v_done[b] <= 1'b1;
                end
            end
        end
    end

    // ---------------- pipeline control --------------------------------------------------------------------
    reg [CB-1:0] c;  // cycle within the slot
    reg c_valid;     // stage C's job (declared here: the stall depends on it)
    reg c_bank;
    reg [TB-1:0] c_i;
    reg [HB-1:0] c_h;
    // The pipeline waits only at the slot's last cycle, where no stage does per-cycle work (SLOT - 1 > N and
    // >= DIV_CYCLES): freezing c mid-slot would repeat the accumulations of cycle c (sum, division, context).
    wire slot_end = c == SLOT - 1;
    wire stall = slot_end && c_valid && c_h == HEADS - 1 && m_axis_tvalid && !m_axis_tready;
    wire advance = slot_end && !stall;

    // next job for stage S: (token i, head h) of the read bank, heads inner so that tokens finish in order
    reg r_bank;
    reg [TB-1:0] n_i;
    reg [HB-1:0] n_h;
    reg [WB-1:0] n_w;
    wire ready_bank = q_done[r_bank] && k_done[r_bank] && v_done[r_bank] && !issued[r_bank];

    // ---------------- stage S: scores ----------------------------------------------------------------------
    reg s_valid;
    reg s_bank;
    reg [TB-1:0] s_i;
    reg [HB-1:0] s_h;
    reg [WB-1:0] s_w;
    reg [TOKW-1:0] q_rd, k_rd;
    always @(posedge clk) begin
        q_rd <= q_mem[{s_bank, s_i}];
        k_rd <= k_mem[{s_bank, c[TB-1:0]}];  // key j = c, its product at cycle c + 1
    end
    wire [HW-1:0] q_h = q_rd[s_h*HW +: HW];
    wire [HW-1:0] k_h = k_rd[s_h*HW +: HW];
    wire signed [SCORE_BITS-1:0] dot;  // in LUTs (lutdot.v): no DSP for the scores
    lutdot #(.L(HD), .A_BITS(BITS), .B_BITS(BITS), .OUT_BITS(SCORE_BITS)) score_dot (.a(q_h), .b(k_h), .y(dot));

    // bias and mask of (h or w, i, j = c), read alongside the key
    wire signed [SCORE_BITS-1:0] bias_term;
    wire keep;
    generate
        if (HAS_BIAS) begin : g_bias
            reg [BIAS_BITS-1:0] bias_rom [0:HEADS*N*N-1];
            reg signed [BIAS_BITS-1:0] bias_rd;
            initial $readmemh(BIAS_FILE, bias_rom);
            always @(posedge clk) bias_rd <= bias_rom[(s_h*N + s_i)*N + c[TB-1:0]];
            assign bias_term = bias_rd <<< BIAS_SHIFT;
        end else begin : g_nobias
            assign bias_term = 0;
        end
        if (HAS_MASK) begin : g_mask
            reg mask_rom [0:WINDOWS*N*N-1];
            reg mask_rd;
            initial $readmemh(MASK_FILE, mask_rom);
            always @(posedge clk) mask_rd <= mask_rom[(s_w*N + s_i)*N + c[TB-1:0]];
            assign keep = mask_rd;
        end else begin : g_nomask
            assign keep = 1'b1;
            wire unused_w = &{1'b0, s_w};
        end
    endgenerate

    wire signed [SCORE_BITS-1:0] score = (dot <<< DOT_SHIFT) + bias_term;
    localparam [SCORE_BITS-1:0] SCORE_LOWEST = {1'b1, {(SCORE_BITS-1){1'b0}}};
    reg [N*SCORE_BITS-1:0] s_s;
    reg [N-1:0] s_keep;
    reg signed [SCORE_BITS-1:0] s_max;
    wire s_write = c >= 1 && c <= N;  // score of key c - 1
    wire [TB-1:0] s_j = c - 1;

    // ---------------- stage X: exponentials ----------------------------------------------------------------
    reg x_valid;
    reg x_bank;
    reg [TB-1:0] x_i;
    reg [HB-1:0] x_h;
    reg [N*SCORE_BITS-1:0] s_x;
    reg [N-1:0] x_keep;
    reg signed [SCORE_BITS-1:0] x_max;
    reg [N*LUT_BITS-1:0] e_x;
    reg [SUM_BITS-1:0] sum_x;
    reg [LUT_BITS-1:0] lut [0:(1<<EXP_IN_FRAC)-1];
    initial $readmemh(LUT_FILE, lut);
    wire [TB-1:0] x_j = c[TB-1:0];
    wire signed [TW-1:0] diff = $signed(s_x[x_j*SCORE_BITS +: SCORE_BITS]) - x_max;  // <= 0
    wire signed [TW-1:0] t_raw = (diff <<< LSH) >>> RSH;                             // floor
    wire signed [TW-1:0] t = t_raw < T_MIN ? T_MIN : t_raw;
    wire signed [TW-1:0] neg_q = -(t >>> EXP_IN_FRAC);                               // 0..MIN_SHIFT
    wire [LUT_BITS-1:0] e_val = x_keep[x_j] ? lut[t[EXP_IN_FRAC-1:0]] >> neg_q[SHW-1:0] : 0;
    wire unused_t = &{1'b0, neg_q[TW-1:SHW], t[TW-1:EXP_IN_FRAC]};

    // ---------------- stage V: reciprocal ------------------------------------------------------------------
    reg v_valid;
    reg v_bank;
    reg [TB-1:0] v_i;
    reg [HB-1:0] v_h;
    reg [N*LUT_BITS-1:0] e_v;
    reg [SUM_BITS-1:0] div_d;
    reg [REMW-1:0] rem;
    reg [INV_BITS-1:0] quo;
    reg [REMW-1:0] rem_n, rem_s;
    reg [INV_BITS-1:0] quo_n;
    integer k;
    always @* begin  // two restoring steps: quotient bits INV_BITS-1-2c and INV_BITS-2-2c
        rem_n = rem;
        rem_s = rem;
        quo_n = quo;
        for (k = 0; k < 2; k = k + 1) begin
            if (2 * c + k < INV_BITS) begin
                rem_s = rem_n << 1;
                quo_n = quo_n << 1;
                if (rem_s >= {1'b0, div_d}) begin
                    rem_s = rem_s - {1'b0, div_d};
                    quo_n[0] = 1'b1;
                end
                rem_n = rem_s;
            end
        end
    end

    // ---------------- stage C: probabilities and context ---------------------------------------------------
    reg [N*LUT_BITS-1:0] e_c;
    reg [INV_BITS-1:0] inv_c;
    reg [PROB_BITS-1:0] p_rd;
    reg [TOKW-1:0] v_rd;
    reg [HD*CTX_BITS-1:0] ctx;
    always @(posedge clk) v_rd <= v_mem[{c_bank, c[TB-1:0]}];  // value j = c, accumulated at cycle c + 1
    wire [PRODW-1:0] prob_full = e_c[c[TB-1:0]*LUT_BITS +: LUT_BITS] * inv_c;
    wire [PRODW-1:0] prob_sh = prob_full >> PROB_SHIFT;
    wire [PROB_BITS-1:0] prob = prob_sh > PROB_MAX ? PROB_MAX : prob_sh[PROB_BITS-1:0];
    wire [HW-1:0] val_h = v_rd[c_h*HW +: HW];
    wire c_acc = c >= 1 && c <= N;
    wire [HD*CTX_BITS-1:0] ctx_next;
    wire [OHW-1:0] ctx_out;
    genvar g;
    generate
        // lanes 2g and 2g+1 share p_j: one multiplier for both, p * (v_2g+1 * 2**PS + v_2g) (as in mul2.v, but
        // with p unsigned |p v| < 2**(PS-1) for PS = PROB_BITS + BITS, so that the packed operand of int8
        // values, -128 included, fits 25 bits: a 9 x 25 DSP48E1 product)
        for (g = 0; g + 1 < HD; g = g + 2) begin : pair
            wire signed [PS+BITS:0] ab = $signed({val_h[(g+2)*BITS-1], val_h[(g+1)*BITS +: BITS], {PS{1'b0}}}) +
                                         $signed(val_h[g*BITS +: BITS]);
            wire signed [PS+BITS+PROB_BITS+1:0] prod = $signed({1'b0, p_rd}) * ab;
            wire signed [PS-1:0] pb = prod[PS-1:0];
            wire signed [PS-1:0] pa_floor = prod[2*PS-1:PS];  // p v_2g+1 - (p v_2g < 0)
            wire unused_prod = &{1'b0, prod[PS+BITS+PROB_BITS+1:2*PS]};
            assign ctx_next[g*CTX_BITS +: CTX_BITS] = $signed(ctx[g*CTX_BITS +: CTX_BITS]) + pb;
            assign ctx_next[(g+1)*CTX_BITS +: CTX_BITS] = $signed(ctx[(g+1)*CTX_BITS +: CTX_BITS]) + pa_floor +
                $signed({1'b0, pb[PS-1]});
        end
        if (HD % 2 != 0) begin : odd// an odd head dim: the last lane alone
            assign ctx_next[(HD-1)*CTX_BITS +: CTX_BITS] = $signed(ctx[(HD-1)*CTX_BITS +: CTX_BITS]) +
                $signed({1'b0, p_rd}) * $signed(val_h[(HD-1)*BITS +: BITS]);
        end
        for (g = 0; g < HD; g = g + 1) begin : lane
            requant #(.IN_BITS(CTX_BITS), .OUT_BITS(OUT_BITS), .SHIFT(OUT_SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX))
                rq (.x(ctx[g*CTX_BITS +: CTX_BITS]), .y(ctx_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate
    reg [D*OUT_BITS-1:0] out_asm;
    reg [D*OUT_BITS-1:0] out_next;
    always @* begin
        out_next = out_asm;
        out_next[c_h*OHW +: OHW] = ctx_out;
    end

    // ---------------- the pipeline -------------------------------------------------------------------------
    always @(posedge clk) begin
        if (rst) begin
            c <= 0;
            s_valid <= 1'b0; x_valid <= 1'b0; v_valid <= 1'b0; c_valid <= 1'b0;
            s_bank <= 1'b0; s_i <= 0; s_h <= 0; s_w <= 0;
            r_bank <= 1'b0; n_i <= 0; n_h <= 0; n_w <= 0;
            issued <= 2'b00;
            release_en <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            release_en <= 1'b0;
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (release_en) issued[release_bank] <= 1'b0;
            // S
            if (s_write) begin
                s_s[s_j*SCORE_BITS +: SCORE_BITS] <= score;
                s_keep[s_j] <= keep;
                if (keep && score > s_max) s_max <= score;
            end
            // X
            if (c < N) begin
                e_x[x_j*LUT_BITS +: LUT_BITS] <= e_val;
                sum_x <= sum_x + e_val;
            end
            // V
            if (c < DIV_CYCLES) begin
                rem <= rem_n;
                quo <= quo_n;
            end
            // C
            if (c < N) p_rd <= prob;
            if (c_acc) ctx <= ctx_next;

            if (!advance) begin
                if (!stall) c <= c + 1;
            end else begin
                c <= 0;
                // C retires: head slice into the output token, the token out after its last head
                if (c_valid) begin
                    out_asm <= out_next;
                    if (c_h == HEADS - 1) begin
                        m_axis_tdata <= out_next;
                        m_axis_tvalid <= 1'b1;
                        m_axis_tlast <= c_i == N - 1;
                        if (c_i == N - 1) begin
                            release_en <= 1'b1;
                            release_bank <= c_bank;
                        end
                    end
                end
                ctx <= 0;
                // V -> C
                c_valid <= v_valid; c_bank <= v_bank; c_i <= v_i; c_h <= v_h;
                e_c <= e_v;
                inv_c <= quo;
                // X -> V
                v_valid <= x_valid; v_bank <= x_bank; v_i <= x_i; v_h <= x_h;
                e_v <= e_x;
                div_d <= sum_x;
                rem <= 1 << (RECIP_BITS - INV_BITS);  // 2**RECIP_BITS >> INV_BITS < lut[0] <= sum
                quo <= 0;
                // S -> X
                x_valid <= s_valid; x_bank <= s_bank; x_i <= s_i; x_h <= s_h;
                s_x <= s_s;
                x_keep <= s_keep;
                x_max <= s_max;
                sum_x <= 0;
                // new job into S
                s_max <= $signed(SCORE_LOWEST);
                s_valid <= ready_bank;
                s_bank <= r_bank; s_i <= n_i; s_h <= n_h; s_w <= n_w;
                if (ready_bank) begin
                    if (n_h == HEADS - 1) begin
                        n_h <= 0;
                        if (n_i == N - 1) begin
                            n_i <= 0;
                            issued[r_bank] <= 1'b1;
                            r_bank <= !r_bank;
                            n_w <= n_w == WINDOWS - 1 ? 0 : n_w + 1;
                        end else begin
                            n_i <= n_i + 1;
                        end
                    end else begin
                        n_h <= n_h + 1;
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire

// attention kernel: multi-head self-attention core with the base-2 integer softmax (golden_kernels.attention).
// Three token streams q, k, v (one token of D = HEADS*HD int8 elements per beat, element 0 in the LSBs) are
// buffered a whole image at a time in two banks per stream, so the next image loads while this one computes
// and the three streams may arrive in any interleaving. One job = one (query token, head); jobs run in a
// pipeline of stages S, X, V (DIV_STAGES of them), C advancing together every SLOT cycles. Within a slot each
// stage streams its N elements through a short pipeline of its own (one carry chain or table per cycle), so
// SLOT = N + the longest of those pipelines + 1 (or the divider's steps + 1):
//   S: one key per cycle: scores s_j = q_i,h . k_j,h - off(q_i,h) (+ bias), running max; the HD-term dot
//      product in LUTs (lutdot.v: radix-4 Booth, pipelined, no DSP). Its offset off(q) is the same for every
//      key of the job and cancels in s_j - max, so it is never added back.
//   X: t_j = floor((s_j - max) onto 2**-EXP_IN_FRAC), clamped; e_j = lut[t mod 2**E] >> -(t div 2**E); sum
//   V: inv = floor(2**RECIP_BITS / sum), restoring division, one quotient bit per cycle, its INV_BITS steps
//      spread over DIV_STAGES pipeline stages when one slot is too short for all of them
//   C: p_j = min(e_j*inv >> PROB_SHIFT, PROB_MAX) (one DSP; inv's top bit as a shifted add); HD/2 mul2_split
//      pairs (one DSP and one LUT product each) accumulate ctx_d = sum_j p_j v_j,h,d; requantized
//      (requant_reg.v) and shifted into output token i from the top, head by head, sent after the last head.
// Backpressure: while the previous output token is not yet taken, the whole pipeline waits at the end of the
// slot that would replace it (only there: every stage's streaming pipeline has drained by then); the wait
// is decided a cycle ahead from registers (see `advance`). Taken input tokens are written a cycle later.
// DSPs (xc7): HD/2 + 1, as with the packed pairs before; the scores stay in LUTs.
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
    // lutdot's latency (see its header): entry registers + every even adder level and the last one
    localparam integer DOT_T = $clog2(HD) + $clog2((BITS + 1) / 2);
    localparam integer DOT_LAT = 1 + (DOT_T + 2) / 2;
    localparam integer S_LAT = 1 + DOT_LAT + HAS_BIAS;         // key j read at cycle j, its score at j + S_LAT
    localparam integer X_LAT = 5;                              // s_j picked at cycle j, e_j summed at j + X_LAT
    localparam integer C_LAT = 7;                              // e_j picked at cycle j, p_j v_j summed at j + C_LAT
    localparam integer SLOT_S = N + S_LAT + 1;                 // the last cycle of a slot does no per-cycle work
    localparam integer SLOT_X = N + X_LAT + 1;
    localparam integer SLOT_C = N + C_LAT + 2;                 // + the rounding register (requant_reg)
    localparam integer SLOT_W = SLOT_S > SLOT_X ? (SLOT_S > SLOT_C ? SLOT_S : SLOT_C) :
                                                  (SLOT_X > SLOT_C ? SLOT_X : SLOT_C);
    localparam integer DIV_STAGES = (INV_BITS + SLOT_W - 2) / (SLOT_W - 1);  // quotient bits at <= SLOT_W-1 a stage
    localparam integer DIV_STEPS = (INV_BITS + DIV_STAGES - 1) / DIV_STAGES;
    localparam integer SLOT = SLOT_W > DIV_STEPS + 1 ? SLOT_W : DIV_STEPS + 1;  // cycles per pipeline step
    localparam integer CB = $clog2(SLOT);
    localparam integer LSH = S_SHIFT < 0 ? -S_SHIFT : 0;
    localparam integer RSH = S_SHIFT > 0 ? S_SHIFT : 0;
    localparam integer TW = SCORE_BITS + 1 + LSH;              // s - max on the exponent grid
    localparam integer T_MIN = -(MIN_SHIFT << EXP_IN_FRAC);
    localparam integer SHW = $clog2(MIN_SHIFT + 1);            // exponent right shift 0..MIN_SHIFT
    localparam integer REMW = SUM_BITS + 1;
    localparam integer PLW = INV_BITS - 1;                     // inv's low bits, the DSP's operand
    localparam integer PFW = LUT_BITS + INV_BITS;              // e * inv
    // sized constants: last token / head / window, the per-cycle windows (the cycle before, the last cycle)
    localparam integer N1 = N - 1, H1 = HEADS - 1, W1 = WINDOWS - 1;
    localparam integer BIAS_START_I = S_LAT - 3, MASK_START_I = S_LAT - 2;
    localparam [TB-1:0] N_LAST = N1[TB-1:0];
    localparam [HB-1:0] H_LAST = H1[HB-1:0];
    localparam [WB-1:0] W_LAST = W1[WB-1:0];
    localparam integer SLOT2 = SLOT - 2, S_PRE_I = S_LAT - 1, S_END_I = S_LAT + N - 1, X_PRE_I = X_LAT - 1,
                       X_END_I = X_LAT + N - 1, C_PRE_I = C_LAT - 1, C_END_I = C_LAT + N - 1;
    localparam [CB-1:0] C_PENULT = SLOT2[CB-1:0];
    localparam [CB-1:0] S_PRE = S_PRE_I[CB-1:0], S_END = S_END_I[CB-1:0];  // window's cycle before, last cycle
    localparam [CB-1:0] X_PRE = X_PRE_I[CB-1:0], X_END = X_END_I[CB-1:0];
    localparam [CB-1:0] C_PRE = C_PRE_I[CB-1:0], C_END = C_END_I[CB-1:0];
    localparam [CB-1:0] BIAS_START = BIAS_START_I[CB-1:0], MASK_START = MASK_START_I[CB-1:0];
    localparam signed [TW-1:0] T_LOW = T_MIN[TW-1:0];

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

    // a taken token is written a cycle later, from registers: the memories' write enables fan out to
    // hundreds of cells and must not hang off tvalid/tready logic (the bank is used only after its done flag
    // and an advance, two cycles at least)
    reg q_we, k_we, v_we;
    reg [TB:0] q_wa, k_wa, v_wa;
    reg [TOKW-1:0] q_wd, k_wd, v_wd;
    always @(posedge clk) begin
        q_wa <= {q_wbank, q_wcnt}; k_wa <= {k_wbank, k_wcnt}; v_wa <= {v_wbank, v_wcnt};
        q_wd <= s_axis_q_tdata; k_wd <= s_axis_k_tdata; v_wd <= s_axis_v_tdata;
        if (q_we) q_mem[q_wa] <= q_wd;
        if (k_we) k_mem[k_wa] <= k_wd;
        if (v_we) v_mem[v_wa] <= v_wd;
    end

    integer b;
    always @(posedge clk) begin
        if (rst) begin
            q_done <= 2'b00; k_done <= 2'b00; v_done <= 2'b00;
            q_we <= 1'b0; k_we <= 1'b0; v_we <= 1'b0;
            q_wbank <= 1'b0; k_wbank <= 1'b0; v_wbank <= 1'b0;
            q_wcnt <= 0; k_wcnt <= 0; v_wcnt <= 0;
        end else begin
            q_we <= q_take; k_we <= k_take; v_we <= v_take;
            if (q_take) begin
                q_wcnt <= q_wcnt == N_LAST ? {TB{1'b0}} : q_wcnt + 1'b1;
                if (q_wcnt == N_LAST) q_wbank <= !q_wbank;
            end
            if (k_take) begin
                k_wcnt <= k_wcnt == N_LAST ? {TB{1'b0}} : k_wcnt + 1'b1;
                if (k_wcnt == N_LAST) k_wbank <= !k_wbank;
            end
            if (v_take) begin
                v_wcnt <= v_wcnt == N_LAST ? {TB{1'b0}} : v_wcnt + 1'b1;
                if (v_wcnt == N_LAST) v_wbank <= !v_wbank;
            end
            for (b = 0; b < 2; b = b + 1) begin  // a released bank is full, so it is not being written
                if (release_en && release_bank == b[0]) begin
                    q_done[b] <= 1'b0; k_done[b] <= 1'b0; v_done[b] <= 1'b0;
                end else begin
                    if (q_take && q_wcnt == N_LAST && q_wbank == b[0]) q_done[b] <= 1'b1;
                    if (k_take && k_wcnt == N_LAST && k_wbank == b[0]) k_done[b] <= 1'b1;
                    if (v_take && v_wcnt == N_LAST && v_wbank == b[0]) v_done[b] <= 1'b1;
                end
            end
        end
    end

    // ---------------- pipeline control --------------------------------------------------------------------
    reg [CB-1:0] c;  // cycle within the slot
    reg c_valid;     // stage C's job
    reg c_bank;
    reg [TB-1:0] c_i;
    reg [HB-1:0] c_h;
    // The pipeline waits only at the slot's last cycle, where no stage does per-cycle work: freezing c
    // mid-slot would repeat the accumulations of cycle c (sum, division, context) and let the streaming
    // pipelines run on. The per-cycle work is enabled by registered flags decoded from c a cycle ahead
    // (no comparator between c and the wide enables), and so is the advance itself: it is decided a cycle
    // early from registers and the output handshake (the output register will be free), so that neither c
    // nor m_axis_tready reaches the thousands of registers it loads. A token taken in the slot's last cycle
    // thus costs one more cycle of waiting, only when the output is already backed up.
    reg slot_end;  // c == SLOT - 1
    reg advance;   // slot_end and the pipeline moves on at this cycle's end
    // the same, for the wide stage registers alone (their own always block): one register loading every bit of
    // them sits far from most in a whole top (tiny vit, ECP5: two 3 ns hops from `advance` to out_asm's enable,
    // 128.9 MHz against 184.3 placed alone); keep: not merged back into `advance`
    (* keep *) reg advance_w;
    reg c_out;     // stage C's job is the last head of a token: it writes the output register
    wire slot_end_next = c == C_PENULT || (slot_end && !advance);
    wire out_busy_next = m_axis_tvalid && !m_axis_tready;  // the output register is still full next cycle
    wire advance_next = slot_end_next && !(c_out && out_busy_next);  // c_out stays until the advance

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
        k_rd <= k_mem[{s_bank, c[TB-1:0]}];  // key j = c, into the dot product at cycle c + 1
    end
    wire signed [SCORE_BITS-1:0] dot;  // key j's at cycle j + 1 + DOT_LAT
    lutdot #(.L(HD), .A_BITS(BITS), .B_BITS(BITS), .OUT_BITS(SCORE_BITS)) score_dot (
        .clk(clk), .a(k_rd[s_h*HW +: HW]), .b(q_rd[s_h*HW +: HW]), .y(dot));

    // score j and its mask bit at cycle j + S_LAT; the bias and mask of (h or w, i, j) read from ROMs
    // (registered) by index counters started from the job's base index
    wire signed [SCORE_BITS-1:0] score;
    wire keep;
    generate
        if (HAS_BIAS != 0) begin : g_bias
            localparam integer BIW = $clog2(HEADS * N * N);
            reg [BIAS_BITS-1:0] bias_rom [0:HEADS*N*N-1];
            reg signed [BIAS_BITS-1:0] bias_rd;
            reg [BIW-1:0] bias_base, bias_idx;
            localparam [BIW-1:0] NB = N[BIW-1:0];
            reg signed [SCORE_BITS-1:0] score_r;
            wire signed [SCORE_BITS-1:0] bias_ext = {{(SCORE_BITS-BIAS_BITS){bias_rd[BIAS_BITS-1]}}, bias_rd};
            initial $readmemh(BIAS_FILE, bias_rom);
            always @(posedge clk) begin
                bias_base <= ({{(BIW-HB){1'b0}}, s_h} * NB + {{(BIW-TB){1'b0}}, s_i}) * NB;  // valid from cycle 1
                bias_idx <= c == BIAS_START ? bias_base : bias_idx + 1'b1;  // j at cycle j + S_LAT - 2
                bias_rd <= bias_rom[bias_idx];
                score_r <= (dot <<< DOT_SHIFT) + (bias_ext <<< BIAS_SHIFT);
            end
            assign score = score_r;
        end else begin : g_nobias
            assign score = dot <<< DOT_SHIFT;
        end
        if (HAS_MASK != 0) begin : g_mask
            localparam integer MIW = $clog2(WINDOWS * N * N);
            reg mask_rom [0:WINDOWS*N*N-1];
            reg mask_rd;
            reg [MIW-1:0] mask_base, mask_idx;
            localparam [MIW-1:0] NM = N[MIW-1:0];
            initial $readmemh(MASK_FILE, mask_rom);
            always @(posedge clk) begin
                mask_base <= ({{(MIW-WB){1'b0}}, s_w} * NM + {{(MIW-TB){1'b0}}, s_i}) * NM;
                mask_idx <= c == MASK_START ? mask_base : mask_idx + 1'b1;  // j at cycle j + S_LAT - 1
                mask_rd <= mask_rom[mask_idx];
            end
            assign keep = mask_rd;
        end else begin : g_nomask
            assign keep = 1'b1;
            wire unused_w = &{1'b0, s_w};
        end
    endgenerate

    localparam [SCORE_BITS-1:0] SCORE_LOWEST = {1'b1, {(SCORE_BITS-1){1'b0}}};
    reg [N*SCORE_BITS-1:0] s_s;
    reg [N-1:0] s_keep;
    reg signed [SCORE_BITS-1:0] s_max;
    reg s_on;         // cycles [S_LAT, S_LAT + N): score c - S_LAT arrives
    reg [N-1:0] s_we; // one-hot: score j at cycle S_LAT + j

    // ---------------- stage X: exponentials ----------------------------------------------------------------
    // cycle j: s_j picked; j+1: difference; j+2: clamp and shift; j+3: table; j+4: shifted; j+5: summed
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
    reg signed [SCORE_BITS-1:0] x_s1;
    reg signed [TW-1:0] x_diff2;
    reg [EXP_IN_FRAC-1:0] x_frac3;
    reg [SHW-1:0] x_sh3, x_sh4;
    reg [LUT_BITS-1:0] x_lut4, x_e5;
    reg [4:1] x_k;  // keep bit of the element at stage 1..4
    wire signed [TW-1:0] t_raw = (x_diff2 <<< LSH) >>> RSH;  // floor
    wire t_clamp = t_raw < T_LOW;
    wire signed [TW-1:0] neg_q = -(t_raw >>> EXP_IN_FRAC);   // 0..MIN_SHIFT unless clamped
    wire unused_t = &{1'b0, neg_q[TW-1:SHW]};
    always @(posedge clk) begin
        x_s1 <= s_x[c[TB-1:0]*SCORE_BITS +: SCORE_BITS];
        x_k[1] <= x_keep[c[TB-1:0]];
        x_diff2 <= x_s1 - x_max;                             // <= 0
        x_k[2] <= x_k[1];
        x_frac3 <= t_clamp ? {EXP_IN_FRAC{1'b0}} : t_raw[EXP_IN_FRAC-1:0];
        x_sh3 <= t_clamp ? MIN_SHIFT[SHW-1:0] : neg_q[SHW-1:0];
        x_k[3] <= x_k[2];
        x_lut4 <= lut[x_frac3];
        x_sh4 <= x_sh3;
        x_k[4] <= x_k[3];
        x_e5 <= x_k[4] ? x_lut4 >> x_sh4 : {LUT_BITS{1'b0}};
    end
    reg x_on;         // cycles [X_LAT, X_LAT + N): e_(c - X_LAT) arrives
    reg [N-1:0] x_we; // one-hot

    // ---------------- stage V: reciprocal, DIV_STAGES stages of DIV_STEPS restoring steps ------------------
    wire d_valid;  // the last divider stage
    wire d_bank;
    wire [TB-1:0] d_i;
    wire [HB-1:0] d_h;
    wire [N*LUT_BITS-1:0] e_d;
    wire [INV_BITS-1:0] inv_d;
    genvar g, st;
    generate
        for (st = 0; st < DIV_STAGES; st = st + 1) begin : div
            reg valid;
            reg bank;
            reg [TB-1:0] i;
            reg [HB-1:0] h;
            reg [N*LUT_BITS-1:0] e;
            reg [SUM_BITS-1:0] d;
            reg [REMW-1:0] rem;
            reg [INV_BITS-1:0] quo;
            wire [REMW:0] rem_s = {rem, 1'b0};
            wire [REMW:0] rem_d = rem_s - {2'b00, d};
            // this stage's steps: quotient bits INV_BITS-1-st*DIV_STEPS-c for c < STEPS
            localparam integer STEPS = INV_BITS - st * DIV_STEPS < DIV_STEPS ? INV_BITS - st * DIV_STEPS : DIV_STEPS;
            localparam integer STEP_END_I = STEPS - 1;
            localparam [CB-1:0] STEP_END = STEP_END_I[CB-1:0];
            reg step;  // cycles [0, STEPS)
            // what enters at the slot's end: X's job and sum (a fresh division), or the previous stage's
            wire p_valid, p_bank;
            wire [TB-1:0] p_i;
            wire [HB-1:0] p_h;
            wire [N*LUT_BITS-1:0] p_e;
            wire [SUM_BITS-1:0] p_d;
            wire [REMW-1:0] p_rem;
            wire [INV_BITS-1:0] p_quo;
            if (st == 0) begin : g_first
                assign {p_valid, p_bank, p_i, p_h, p_e, p_d} = {x_valid, x_bank, x_i, x_h, e_x, sum_x};
                assign p_rem = 1 << (RECIP_BITS - INV_BITS);  // 2**RECIP_BITS >> INV_BITS < lut[0] <= sum
                assign p_quo = {INV_BITS{1'b0}};
            end else begin : g_next
                assign {p_valid, p_bank, p_i, p_h, p_e, p_d, p_rem, p_quo} = {div[st-1].valid, div[st-1].bank,
                    div[st-1].i, div[st-1].h, div[st-1].e, div[st-1].d, div[st-1].rem, div[st-1].quo};
            end
            always @(posedge clk) begin
                if (rst) begin
                    valid <= 1'b0;
                    step <= 1'b0;
                end else begin
                    if (advance) valid <= p_valid;
                    step <= advance || (step && c != STEP_END);
                end
            end
            always @(posedge clk) begin
                if (advance) begin
                    bank <= p_bank; i <= p_i; h <= p_h;
                    e <= p_e;
                    d <= p_d;
                    rem <= p_rem;
                    quo <= p_quo;
                end else if (step) begin
                    rem <= rem_d[REMW] ? rem_s[REMW-1:0] : rem_d[REMW-1:0];
                    quo <= {quo[INV_BITS-2:0], !rem_d[REMW]};
                end
            end
            wire unused_rem = &{1'b0, rem_s[REMW]};
        end
    endgenerate
    assign d_valid = div[DIV_STAGES-1].valid;
    assign d_bank = div[DIV_STAGES-1].bank;
    assign d_i = div[DIV_STAGES-1].i;
    assign d_h = div[DIV_STAGES-1].h;
    assign e_d = div[DIV_STAGES-1].e;
    assign inv_d = div[DIV_STAGES-1].quo;

    // ---------------- stage C: probabilities and context ---------------------------------------------------
    // cycle j: e_j and v_j picked; j+1: e_j * inv (DSP), v_j's head slice; j+2: p_j; j+3..j+6: the lane
    // products p_j * v_j,d in mul2_split pairs; j+7: accumulated. Then requant_reg: rounded, saturated.
    reg [N*LUT_BITS-1:0] e_c;
    reg [INV_BITS-1:0] inv_c;
    reg [LUT_BITS-1:0] c_e1;
    reg [TOKW-1:0] v_rd;
    reg [HW-1:0] c_v2, c_v3;
    reg [PFW-1:0] c_pf2;              // e * inv without inv's top bit
    reg [LUT_BITS-1:0] c_hi2;         // e where inv's top bit is set
    reg [PROB_BITS-1:0] c_p3;         // p_j
    reg [HD*CTX_BITS-1:0] ctx;
    always @(posedge clk) begin
        c_e1 <= e_c[c[TB-1:0]*LUT_BITS +: LUT_BITS];
        v_rd <= v_mem[{c_bank, c[TB-1:0]}];
        c_pf2 <= c_e1 * inv_c[PLW-1:0];
        c_hi2 <= inv_c[PLW] ? c_e1 : {LUT_BITS{1'b0}};
        c_v2 <= v_rd[c_h*HW +: HW];
        c_v3 <= c_v2;
    end
    wire [PFW-1:0] prob_full = c_pf2 + ({{INV_BITS{1'b0}}, c_hi2} << PLW);
    wire [PFW-1:0] prob_sh = prob_full >> PROB_SHIFT;
    wire prob_sat;  // prob_sh > PROB_MAX (< 2**PROB_BITS)
    generate
        if (PROB_MAX == (1 << PROB_BITS) - 1) begin : g_sat_full
            assign prob_sat = |prob_sh[PFW-1:PROB_BITS];
        end else begin : g_sat_below
            assign prob_sat = |prob_sh[PFW-1:PROB_BITS] || prob_sh[PROB_BITS-1:0] > PROB_MAX[PROB_BITS-1:0];
        end
    endgenerate
    always @(posedge clk) c_p3 <= prob_sat ? PROB_MAX[PROB_BITS-1:0] : prob_sh[PROB_BITS-1:0];
    // the shared operand of the pairs, x = p_j as a signed value, with 3x and -x built once for all of them
    localparam integer XB = PROB_BITS + 1;
    localparam integer PB = XB + BITS;  // a lane product's width
    wire signed [XB-1:0] px = {1'b0, c_p3};
    wire signed [XB+1:0] px3 = {2'b00, px} + {1'b0, px, 1'b0};
    wire signed [XB:0] pxn = -{1'b0, px};
    reg c_acc;  // cycles [C_LAT, C_LAT + N)
    wire [HD*CTX_BITS-1:0] ctx_next;
    wire [OHW-1:0] ctx_out;
    generate
        // lanes 2g and 2g+1 share p_j: a mul2_split pair, one DSP (p_j * v_2g) and p_j * v_2g+1 in LUTs. (A
        // mul2-packed pair would be one 9 x 25 product, which on an ECP5 is two multipliers and an adder in
        // one cycle.) An odd last lane is a pair with a zero upper lane.
        for (g = 0; g < HD; g = g + 2) begin : pair
            wire signed [BITS-1:0] va;
            if (g + 1 < HD) begin : g_va
                assign va = c_v3[(g+1)*BITS +: BITS];
            end else begin : g_va0
                assign va = {BITS{1'b0}};
            end
            wire signed [PB-1:0] pa, pb;  // p_j * v_2g+1, p_j * v_2g
            mul2_split #(.X_BITS(XB), .C_BITS(BITS)) mul (.clk(clk), .x(px), .x3(px3), .xn(pxn), .a(va),
                .b(c_v3[g*BITS +: BITS]), .xa(pa), .xb(pb));
            assign ctx_next[g*CTX_BITS +: CTX_BITS] = ctx[g*CTX_BITS +: CTX_BITS] + {{(CTX_BITS-PB){pb[PB-1]}}, pb};
            if (g + 1 < HD) begin : g_hi
                assign ctx_next[(g+1)*CTX_BITS +: CTX_BITS] = ctx[(g+1)*CTX_BITS +: CTX_BITS] +
                    {{(CTX_BITS-PB){pa[PB-1]}}, pa};
            end else begin : g_none
                wire unused_pa = &{1'b0, pa};
            end
        end
        for (g = 0; g < HD; g = g + 1) begin : lane
            requant_reg #(.IN_BITS(CTX_BITS), .OUT_BITS(OUT_BITS), .SHIFT(OUT_SHIFT), .OUT_MIN(OUT_MIN),
                .OUT_MAX(OUT_MAX)) rq (.clk(clk), .x(ctx[g*CTX_BITS +: CTX_BITS]), .y(ctx_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate
    wire [OHW-1:0] rq = ctx_out;  // requant(ctx) of the previous cycle: final from cycle N + C_LAT + 1 on
    // the output token assembles by shifting each head's slice in from the top (heads retire in order 0..),
    // so that no head-indexed multiplexer sits behind the saturation
    localparam integer AW = HEADS > 1 ? (HEADS - 1) * OHW : 1;
    reg [AW-1:0] out_asm;             // the slices of the token's earlier heads
    wire [D*OUT_BITS-1:0] out_next;
    generate
        if (HEADS > 1) begin : g_shift
            assign out_next = {rq, out_asm};
        end else begin : g_one
            assign out_next = rq;
            wire unused_asm = &{1'b0, out_asm};
        end
    endgenerate

    // ---------------- the pipeline -------------------------------------------------------------------------
    integer j;
    always @(posedge clk) begin
        if (rst) begin
            c <= 0;
            slot_end <= 1'b0;
            advance <= 1'b0;
            advance_w <= 1'b0;
            c_out <= 1'b0;
            s_on <= 1'b0; s_we <= {N{1'b0}}; x_on <= 1'b0; x_we <= {N{1'b0}}; c_acc <= 1'b0;
            s_valid <= 1'b0; x_valid <= 1'b0; c_valid <= 1'b0;
            s_bank <= 1'b0; s_i <= 0; s_h <= 0; s_w <= 0;
            r_bank <= 1'b0; n_i <= 0; n_h <= 0; n_w <= 0;
            issued <= 2'b00;
            release_en <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
            m_axis_tdata <= {D*OUT_BITS{1'b0}};
        end else begin
            release_en <= 1'b0;
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (release_en) issued[release_bank] <= 1'b0;
            // S
            slot_end <= slot_end_next;
            advance <= advance_next;
            advance_w <= advance_next;
            s_on <= c == S_PRE || (s_on && c != S_END);
            s_we <= {s_we[N-2:0], c == S_PRE};
            x_on <= c == X_PRE || (x_on && c != X_END);
            x_we <= {x_we[N-2:0], c == X_PRE};
            c_acc <= c == C_PRE || (c_acc && c != C_END);
            for (j = 0; j < N; j = j + 1) begin
                if (s_we[j]) begin
                    s_s[j*SCORE_BITS +: SCORE_BITS] <= score;
                    s_keep[j] <= keep;
                end
                if (x_we[j]) e_x[j*LUT_BITS +: LUT_BITS] <= x_e5;
            end
            if (s_on && keep && score > s_max) s_max <= score;
            // X
            if (x_on) sum_x <= sum_x + {{(SUM_BITS-LUT_BITS){1'b0}}, x_e5};
            // C
            if (c_acc) ctx <= ctx_next;

            if (!advance) begin
                if (!slot_end) c <= c + 1'b1;
            end else begin
                c <= 0;
                // C retires: head slice into the output token, the token out after its last head
                if (c_valid) begin
                    if (c_out) begin
                        m_axis_tdata <= out_next;
                        m_axis_tvalid <= 1'b1;
                        m_axis_tlast <= c_i == N_LAST;
                        if (c_i == N_LAST) begin
                            release_en <= 1'b1;
                            release_bank <= c_bank;
                        end
                    end
                end
                ctx <= 0;
                // V -> C
                c_valid <= d_valid; c_bank <= d_bank; c_i <= d_i; c_h <= d_h;
                c_out <= d_valid && d_h == H_LAST;
                // S -> X
                x_valid <= s_valid; x_bank <= s_bank; x_i <= s_i; x_h <= s_h;
                sum_x <= 0;
                // new job into S
                s_max <= $signed(SCORE_LOWEST);
                s_valid <= ready_bank;
                s_bank <= r_bank; s_i <= n_i; s_h <= n_h; s_w <= n_w;
                if (ready_bank) begin
                    if (n_h == H_LAST) begin
                        n_h <= 0;
                        if (n_i == N_LAST) begin
                            n_i <= 0;
                            issued[r_bank] <= 1'b1;
                            r_bank <= !r_bank;
                            n_w <= n_w == W_LAST ? {WB{1'b0}} : n_w + 1'b1;
                        end else begin
                            n_i <= n_i + 1'b1;
                        end
                    end else begin
                        n_h <= n_h + 1'b1;
                    end
                end
            end
        end
    end

    // the wide registers of the stage hand-overs, on advance_w
    always @(posedge clk) begin
        if (advance_w) begin
            if (c_valid) out_asm <= out_next[D*OUT_BITS-1 -: AW];  // C retires: its head slice
            e_c <= e_d;      // V -> C
            inv_c <= inv_d;
            s_x <= s_s;      // S -> X
            x_keep <= s_keep;
            x_max <= s_max;
        end
    end
endmodule

`default_nettype wire

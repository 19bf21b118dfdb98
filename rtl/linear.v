// linear kernel: one token vector in, one requantized token vector out (golden_kernels.linear).
// LANES multiply-accumulate lanes compute LANES outputs at once (a group); GROUPS = ceil(N_OUT/LANES) groups
// per token, the last one padded with zero weights and bias, its padded outputs dropped. Each lane takes SIMD
// input elements per cycle, so a group takes STEPS = ceil(N_IN/SIMD) cycles (the input padded with zero
// elements and zero weights up to STEPS*SIMD) and a token GROUPS * STEPS cycles: an issue stage walks
// (group, step) once per cycle and the next token starts the cycle after the previous one's last step, while
// that one is still in the pipeline. The only stall: the issue of group 0's last step while the previous
// token's result still waits to move to the output register (its slot would be overwritten); with the output
// free it costs a token max(0, 11 + clog2(SIMD) - STEPS) cycles, so only groups shorter than the pipeline.
// Multipliers: the lanes share each input element, two lanes per multiplier (a DSP) for each of the SIMD
// elements: MUL_SPLIT = 0 packs both lanes' products into one multiply (mul2); MUL_SPLIT = 1 puts one lane on
// the multiplier and builds the other in LUTs (mul2_split: more LUTs, but no adder behind the multiplier, which
// a wide layer's longer wires cannot afford on an ECP5); an odd last lane has a multiplier of its own.
// MUL_SPLIT = 2 gives every lane a multiplier of its own (for 18x18 multipliers, the ECP5's: mul2's 25-bit
// operand takes two of them and an adder behind, two plain products take the same two without it). A lane
// sums its SIMD products per cycle in a registered adder tree (add_tree) before its accumulator.
// DEPTHWISE = 1 (a depthwise convolution run by rtl/conv.v; SIMD = 1): the token holds N_IN taps x N_OUT
// channels, tap-major (element t*N_OUT + c), and lane l of group g at tap t multiplies x[t*N_OUT + g*LANES + l]
// by W[g*LANES + l, t]: every lane has its own element, so each lane gets a plain multiplier (no pairs). The
// input is seen as chunks of XE elements (SIMD, or LANES with DEPTHWISE), one chunk per cycle; a depthwise
// tap's channels are padded to GROUPS*LANES so that chunk t*GROUPS + g is exactly group g's channels at tap t.
// Weights and biases come from ROM files that rtl/gen.py writes from the model file; the weight ROM has one
// synchronous read port, so it can live in block RAM. Word (group g, step s) holds LANES*SIMD weights:
// W[g*LANES + l, s*SIMD + j] at position j*LANES + l (so SIMD = 1 is one weight per lane, lane 0 in the LSBs).
// Input: s_axis_tready is a register (its next value computed from the control's next state), and the token
// register x loads whenever it is high, through load_reg slices with load flags of their own: a load enable
// gated by s_axis_tvalid would fan out to every bit of x (thousands for an im2col vector).
// Pipeline (one carry chain, multiplier or wide mux per stage; valid/first/last bits travel beside the data,
// whose registers have no enable): 1. weight address, and the chunk ck mod 16 of every 16-chunk block of the
// input (16:1 muxes), 2. weight word (block RAM) and the chunk (a mux over the blocks), 3. both again
// (the RAM's output register; with MUL_SPLIT also 3x and -x of each element, shared by all the pairs),
// 4-7. mul2 / mul2_split, 8 .. 7+clog2(SIMD). the adder trees, then the accumulators (bias as the first addend
// of a group), then requant straight from the accumulators into the group's slot of the result.
`default_nettype none

module linear #(
    parameter integer N_IN = 8,          // input features (> 0); with DEPTHWISE: taps per channel
    parameter integer N_OUT = 8,         // output features (> 0); with DEPTHWISE: channels
    parameter integer LANES = 4,         // parallel MAC lanes, 1..N_OUT (need not divide N_OUT)
    parameter integer SIMD = 1,          // input elements per lane per cycle, 1..N_IN (need not divide N_IN);
                                         // 1 with DEPTHWISE
    parameter integer DEPTHWISE = 0,     // 1: token = N_IN taps x N_OUT channels, tap-major; lane = channel
    parameter integer IN_BITS = 8,       // input element width
    parameter integer IN_SIGNED = 1,     // 1: two's complement input, 0: unsigned (pixels)
    parameter integer W_BITS = 8,        // weight width (narrow-range signed)
    parameter integer ACC_BITS = 32,     // accumulator width (the model file proves no overflow)
    parameter integer OUT_BITS = 8,      // output element width
    parameter integer SHIFT = 0,         // in_frac + w_frac - out_frac: right shift with round half to even (>= 0)
    parameter integer OUT_MIN = -128,    // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter integer MUL_SPLIT = 0,     // lane pairs: 0 one packed multiply (mul2), 1 multiplier + LUTs (mul2_split),
                                         // 2 none: a multiplier per lane
    parameter WEIGHT_FILE = "weight.hex", // GROUPS*STEPS words of LANES*SIMD*W_BITS bits (layout: header)
    parameter BIAS_FILE = "bias.hex"      // GROUPS words of LANES*ACC_BITS bits, lane 0 in the LSBs
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [(DEPTHWISE != 0 ? N_IN*N_OUT : N_IN)*IN_BITS-1:0] s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    input  wire                      s_axis_tlast,
    output reg  [N_OUT*OUT_BITS-1:0] m_axis_tdata,
    output reg                       m_axis_tvalid,
    input  wire                      m_axis_tready,
    output reg                       m_axis_tlast
);
    localparam DW = DEPTHWISE != 0;  // 1 bit
    localparam integer N_X = DW ? N_IN * N_OUT : N_IN;           // input elements per token
    localparam integer GROUPS = (N_OUT + LANES - 1) / LANES;
    localparam integer STEPS = (N_IN + SIMD - 1) / SIMD;         // cycles per group
    localparam integer DEPTH = GROUPS * STEPS;
    localparam integer XE = DW ? LANES : SIMD;                   // input elements per cycle (a chunk)
    localparam integer NCH = DW ? N_IN * GROUPS : STEPS;         // chunks per token
    localparam integer X_BITS = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);  // the input element as a signed number
    localparam integer PROD_BITS = X_BITS + W_BITS;
    localparam integer TL = $clog2(SIMD);                        // adder-tree levels (latency)
    localparam integer SUM_BITS = PROD_BITS + TL;                // a lane's sum of SIMD products
    localparam integer MUL_LAT = 4;                              // mul2's and mul2_split's latency
    localparam integer ST_P = 3 + MUL_LAT;                       // pipeline stage of the products
    localparam integer ST_S = ST_P + TL;                         // stage of the lane sums
    localparam integer ST_A = ST_S + 1;                          // stage of the accumulators
    localparam integer ST_R = ST_A + 1;                          // stage of the rounded sums (requant_reg)
    localparam integer GB = GROUPS > 1 ? $clog2(GROUPS) : 1;    // counter widths
    localparam integer IB = STEPS > 1 ? $clog2(STEPS) : 1;
    localparam integer RB = DEPTH > 1 ? $clog2(DEPTH) : 1;
    localparam integer CB = NCH > 1 ? $clog2(NCH) : 1;
    localparam integer LAST_GROUP = GROUPS - 1;                 // as [GB-1:0] below
    // the step and group before the last (as [IB-1:0], [GB-1:0]): idx_last and g_last are registers
    localparam integer PRE_IDX = STEPS > 1 ? STEPS - 2 : 0, PRE_GROUP = GROUPS > 1 ? GROUPS - 2 : 0;
    localparam ONE_STEP = STEPS == 1, ONE_GROUP = GROUPS == 1;  // 1 bit
    localparam integer XS = 16 * IN_BITS;                        // bits of x per load_reg slice
    // the chunk select in two steps: blocks of 2**LB chunks (16:1 muxes), then one of XK blocks
    localparam integer CW = XE * IN_BITS;                        // chunk width
    localparam integer LB = CB < 4 ? CB : 4;
    localparam integer XK = (NCH + (1 << LB) - 1) >> LB;

    (* rom_style = "block" *) reg [LANES*SIMD*W_BITS-1:0] weight_rom [0:DEPTH-1];  // BRAM even when shallow
    reg [LANES*ACC_BITS-1:0] bias_rom [0:GROUPS-1];
    initial begin
        $readmemh(WEIGHT_FILE, weight_rom);
        $readmemh(BIAS_FILE, bias_rom);
    end

    // ---- issue: one (group, step) per cycle while busy
    reg busy, last;                      // last: the token's TLAST
    reg [GB-1:0] group;
    reg [IB-1:0] idx;
    reg idx_last, g_first, g_last;       // idx == STEPS - 1, group == 0, group == LAST_GROUP
    reg [RB-1:0] rd;        // weight word of (group, idx)
    wire [CB-1:0] ck;       // the chunk of x that (group, idx) reads
    // result: y_busy from the issue of a token's last step until its result moved to the output
    // register; y_full once all its groups are in y
    reg y_busy, y_full, y_last;
    reg [N_OUT*OUT_BITS-1:0] y;

    wire stall = y_busy && g_first && idx_last;  // group 0's result would land on a waiting result
    wire issue = busy && !stall;
    wire adv = issue && idx_last;        // a group's last step
    wire tok_end = adv && g_last;
    wire out_free = !m_axis_tvalid || m_axis_tready;
    wire copy = y_full && out_free;      // the result moves to the output register
    // s_axis_tready = !busy || tok_end, as a register: its value for the next cycle from this cycle's next
    // state. The x register loads whenever it is high, valid or not (x is not read while idle), so that its
    // load enable is a register too, one copy per slice (load_reg), instead of s_axis_tvalid gating every bit
    reg rdy;
    assign s_axis_tready = rdy;
    wire take = s_axis_tvalid && rdy;
    wire busy_n = take || (busy && !tok_end);
    wire idx_last_n = issue ? (idx_last ? ONE_STEP : idx == PRE_IDX[IB-1:0]) : idx_last;
    wire g_first_n = adv ? g_last : g_first;
    wire g_last_n = adv ? ONE_GROUP || group == PRE_GROUP[GB-1:0] : g_last;
    wire y_busy_n = tok_end || (y_busy && !copy);
    wire rdy_n = rst || !busy_n || (idx_last_n && g_last_n && !(y_busy_n && g_first_n));
    wire [N_X*IN_BITS-1:0] x;
    genvar g, j, e;
    generate
        for (g = 0; g < N_X * IN_BITS; g = g + XS) begin : x_slice
            localparam integer SW = N_X * IN_BITS - g < XS ? N_X * IN_BITS - g : XS;
            load_reg #(.WIDTH(SW)) hold (.clk(clk), .load_next(rdy_n), .d(s_axis_tdata[g +: SW]), .q(x[g +: SW]));
        end
    endgenerate

    // ---- stage flags: valid, first / last step of a group, group; [k] describes stage k's data
    reg [ST_R:1] pv, pl;
    reg [ST_S:1] pf;
    reg [GB-1:0] pg [1:ST_R];
    integer k;
    always @(posedge clk) begin
        pg[1] <= group;
        for (k = 2; k <= ST_R; k = k + 1) pg[k] <= pg[k-1];
        pf <= {pf[ST_S-1:1], idx == 0};
        pl <= {pl[ST_R-1:1], idx_last};
        if (rst) pv <= 0;
        else pv <= {pv[ST_R-1:1], issue};
    end

    // ---- stages 1-3: weight word and input chunk; a bubble's chunk is 0 (adds 0 to the accumulators)
    reg [RB-1:0] rd_q;
    reg [XK*CW-1:0] x_blk;       // stage 1: chunk ck mod 2**LB of every block
    reg [LANES*SIMD*W_BITS-1:0] w_word, w_q;
    reg [CW-1:0] x_elem, x_q;
    wire [CW-1:0] x_sel;         // x_blk's chunk of block ck / 2**LB, into stage 2
    generate
        if (DW) begin : ck_dw  // chunk t*GROUPS + g: a step moves one tap on, a group one chunk
            // from the last tap of group g (chunk (N_IN-1)*GROUPS + g) to tap 0 of group g+1, modulo 2**CB
            localparam integer NEXT_GROUP = (1 << CB) + 1 - (N_IN - 1) * GROUPS;
            reg [CB-1:0] ck_r;
            always @(posedge clk)
                if (rst) ck_r <= 0;
                else if (issue) ck_r <= tok_end ? {CB{1'b0}}
                                                : ck_r + (idx_last ? NEXT_GROUP[CB-1:0] : GROUPS[CB-1:0]);
            assign ck = ck_r;
        end else begin : ck_step
            assign ck = idx;
        end
        // x as XK << LB chunks of XE elements: chunk c element e is x[src], or 0 beyond the token
        wire [(XK << LB)*CW-1:0] x_pad;
        for (g = 0; g < (XK << LB); g = g + 1) begin : chunk
            for (e = 0; e < XE; e = e + 1) begin : elem
                localparam integer CH = (g % GROUPS) * LANES + e;  // depthwise: the channel
                localparam integer SRC = DW ? (g / GROUPS) * N_OUT + CH : g * SIMD + e;
                localparam INSIDE = g < NCH && (DW ? CH < N_OUT : SRC < N_IN);
                if (INSIDE) begin : data
                    assign x_pad[(g*XE + e)*IN_BITS +: IN_BITS] = x[SRC*IN_BITS +: IN_BITS];
                end else begin : pad
                    assign x_pad[(g*XE + e)*IN_BITS +: IN_BITS] = {IN_BITS{1'b0}};
                end
            end
        end
        for (g = 0; g < XK; g = g + 1) begin : xblk
            wire [(CW << LB)-1:0] blk = x_pad[g*(CW << LB) +: (CW << LB)];
            always @(posedge clk) x_blk[g*CW +: CW] <= blk[ck[LB-1:0]*CW +: CW];
        end
        if (XK > 1) begin : xk_many
            reg [CB-LB-1:0] blk_q;  // ck / 2**LB
            always @(posedge clk) blk_q <= ck[CB-1:LB];
            assign x_sel = x_blk[blk_q*CW +: CW];
        end else begin : xk_one
            assign x_sel = x_blk;
        end
    endgenerate
    always @(posedge clk) begin
        rd_q <= rd;
        w_word <= weight_rom[rd_q];
        x_elem <= pv[1] ? x_sel : {CW{1'b0}};
        w_q <= w_word;
        x_q <= x_elem;
    end
    wire [XE*X_BITS-1:0] xs;     // x_q's elements as signed numbers
    generate
        for (e = 0; e < XE; e = e + 1) begin : xsgn
            if (IN_SIGNED != 0) begin : x_signed
                assign xs[e*X_BITS +: X_BITS] = x_q[e*IN_BITS +: IN_BITS];
            end else begin : x_unsigned
                assign xs[e*X_BITS +: X_BITS] = {1'b0, x_q[e*IN_BITS +: IN_BITS]};
            end
        end
    endgenerate

    // ---- stages 4-7: products; product (j, l) of lane l and element j at [(j*LANES + l)*PROD_BITS]
    wire [SIMD*LANES*PROD_BITS-1:0] prod;
    generate
        for (j = 0; j < SIMD; j = j + 1) begin : elem
            wire [LANES*W_BITS-1:0] wj = w_q[j*LANES*W_BITS +: LANES*W_BITS];
            wire [LANES*PROD_BITS-1:0] pj;
            assign prod[j*LANES*PROD_BITS +: LANES*PROD_BITS] = pj;
            if (!DW && MUL_SPLIT == 1 && LANES > 1) begin : split_pairs
                // the multiples of the element that mul2_split's partial products pick, beside x_q
                wire signed [X_BITS-1:0] xe;  // x_elem's element j as a signed number
                if (IN_SIGNED != 0) begin : xe_signed
                    assign xe = x_elem[j*IN_BITS +: IN_BITS];
                end else begin : xe_unsigned
                    assign xe = {1'b0, x_elem[j*IN_BITS +: IN_BITS]};
                end
                reg signed [X_BITS+1:0] x3_q;
                reg signed [X_BITS:0] xn_q;
                always @(posedge clk) begin
                    x3_q <= {xe[X_BITS-1], xe, 1'b0} + {{2{xe[X_BITS-1]}}, xe};
                    xn_q <= -{xe[X_BITS-1], xe};
                end
                wire [X_BITS-1:0] xj = xs[j*X_BITS +: X_BITS];
                for (g = 0; g + 1 < LANES; g = g + 2) begin : pair
                    mul2_split #(.X_BITS(X_BITS), .C_BITS(W_BITS)) mul (.clk(clk), .x(xj), .x3(x3_q), .xn(xn_q),
                        .a(wj[(g+1)*W_BITS +: W_BITS]), .b(wj[g*W_BITS +: W_BITS]),
                        .xa(pj[(g+1)*PROD_BITS +: PROD_BITS]), .xb(pj[g*PROD_BITS +: PROD_BITS]));
                end
            end else if (!DW && MUL_SPLIT == 0 && LANES > 1) begin : packed_pairs
                wire [X_BITS-1:0] xj = xs[j*X_BITS +: X_BITS];
                for (g = 0; g + 1 < LANES; g = g + 2) begin : pair
                    mul2 #(.X_BITS(X_BITS), .C_BITS(W_BITS)) mul (.clk(clk), .x(xj),
                        .a(wj[(g+1)*W_BITS +: W_BITS]), .b(wj[g*W_BITS +: W_BITS]),
                        .xa(pj[(g+1)*PROD_BITS +: PROD_BITS]), .xb(pj[g*PROD_BITS +: PROD_BITS]));
                end
            end
            // a lane of its own (every depthwise lane, every lane with MUL_SPLIT 2, else an odd last lane): mul1,
            // the same four registers as mul2; its element: its own channel's (depthwise), else the shared one j
            for (g = 0; g < LANES; g = g + 1) begin : single
                if (DW || MUL_SPLIT == 2 || (LANES % 2 == 1 && g == LANES - 1)) begin : lane
                    mul1 #(.X_BITS(X_BITS), .W_BITS(W_BITS)) mul (.clk(clk), .x(xs[(DW ? g : j)*X_BITS +: X_BITS]),
                        .w(wj[g*W_BITS +: W_BITS]), .xw(pj[g*PROD_BITS +: PROD_BITS]));
                end
            end
        end
    endgenerate

    // ---- stages 8 ..: a lane's SIMD products summed (add_tree), then its accumulator; a group's first sum
    // adds to its bias (a mux inside the adder's LUTs)
    reg [LANES*ACC_BITS-1:0] bias_q, acc;
    wire [LANES*OUT_BITS-1:0] lane_out;
    always @(posedge clk) bias_q <= bias_rom[pg[ST_S-1]];  // the bias of the group entering stage ST_S
    generate
        for (g = 0; g < LANES; g = g + 1) begin : lane
            wire [SIMD*PROD_BITS-1:0] terms;
            for (j = 0; j < SIMD; j = j + 1) begin : term
                assign terms[j*PROD_BITS +: PROD_BITS] = prod[(j*LANES + g)*PROD_BITS +: PROD_BITS];
            end
            wire [SUM_BITS-1:0] sum;
            if (SIMD > 1) begin : tree
                add_tree #(.N(SIMD), .IN_BITS(PROD_BITS)) add (.clk(clk), .x(terms), .y(sum));
            end else begin : one
                assign sum = terms;
            end
            wire [ACC_BITS-1:0] addend;
            if (ACC_BITS > SUM_BITS) begin : widen  // sign-extended
                assign addend = {{(ACC_BITS-SUM_BITS){sum[SUM_BITS-1]}}, sum};
            end else if (ACC_BITS == SUM_BITS) begin : same
                assign addend = sum;
            end else begin : narrow
                // the accumulator is exact modulo 2**ACC_BITS and the token's sum fits it, so the bits above
                // ACC_BITS cannot change the result
                /* verilator lint_off UNUSEDSIGNAL */
                wire [SUM_BITS-ACC_BITS-1:0] dropped = sum[SUM_BITS-1:ACC_BITS];
                /* verilator lint_on UNUSEDSIGNAL */
                assign addend = sum[ACC_BITS-1:0];
            end
            always @(posedge clk)
                acc[g*ACC_BITS +: ACC_BITS] <=
                    (pf[ST_S] ? bias_q[g*ACC_BITS +: ACC_BITS] : acc[g*ACC_BITS +: ACC_BITS]) + addend;
            requant_reg #(.IN_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN),
                          .OUT_MAX(OUT_MAX))
                rq (.clk(clk), .x(acc[g*ACC_BITS +: ACC_BITS]), .y(lane_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate
    always @(posedge clk) if (rdy) last <= s_axis_tlast;
    // slot_load[g]: lane_out holds a finished group g (pv[ST_R] && pl[ST_R] && pg[ST_R] == g), decoded a stage
    // early into a flip-flop of the slot's own, which drives its load enables alone (the tiny vit's whole top,
    // 156.9 MHz: pl through the decode and two hops into head's y); the last slot's also sets y_full
    reg [GROUPS-1:0] slot_load;
    generate
        for (g = 0; g < GROUPS; g = g + 1) begin : slot
            localparam integer G = g;
            localparam integer NL = N_OUT - g * LANES < LANES ? N_OUT - g * LANES : LANES;  // outputs kept
            always @(posedge clk) begin
                slot_load[g] <= !rst && pv[ST_R-1] && pl[ST_R-1] && pg[ST_R-1] == G[GB-1:0];
                if (slot_load[g]) y[g*LANES*OUT_BITS +: NL*OUT_BITS] <= lane_out[NL*OUT_BITS-1:0];
            end
        end
    endgenerate

    always @(posedge clk) begin
        rdy <= rdy_n;
        if (rst) begin
            busy <= 1'b0;
            group <= 0;
            idx <= 0;
            idx_last <= ONE_STEP;
            g_first <= 1'b1;
            g_last <= ONE_GROUP;
            rd <= 0;
            y_busy <= 1'b0;
            y_full <= 1'b0;
            y_last <= 1'b0;
            m_axis_tdata <= 0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            // issue; the counters rest at 0 between tokens
            busy <= busy_n;
            idx_last <= idx_last_n;
            g_first <= g_first_n;
            g_last <= g_last_n;
            if (issue) begin
                idx <= idx_last ? 0 : idx + 1'b1;
                if (idx_last) group <= g_last ? 0 : group + 1'b1;
                rd <= tok_end ? 0 : rd + 1'b1;
            end
            // result to the output register; a token's last group completes its result
            if (m_axis_tready) m_axis_tvalid <= 1'b0;
            if (copy) begin
                m_axis_tdata <= y;
                m_axis_tlast <= y_last;
                m_axis_tvalid <= 1'b1;
                y_full <= 1'b0;
                y_busy <= 1'b0;
            end
            if (slot_load[LAST_GROUP]) y_full <= 1'b1;
            if (tok_end) begin
                y_busy <= 1'b1;
                y_last <= last;
            end
        end
    end
endmodule

`default_nettype wire

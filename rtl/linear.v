// linear kernel: one token vector in, one requantized token vector out (golden_kernels.linear).
// LANES multiply-accumulate lanes share each input element, two lanes per multiplier (a DSP): MUL_SPLIT = 0
// packs both lanes' products into one multiply (mul2); MUL_SPLIT = 1 puts one lane on the multiplier and
// builds the other in LUTs (mul2_split: more LUTs, but no adder behind the multiplier, which a wide layer's
// longer wires cannot afford on an ECP5). A token takes N_OUT/LANES * N_IN cycles: an issue stage walks
// (group, element) once per cycle and the next token starts the cycle after the previous one's last element,
// while that one is still in the pipeline.
// Weights and biases come from ROM files that rtl/gen.py writes from the model file; the weight ROM has one
// synchronous read port, so it can live in block RAM.
// Pipeline (one carry chain, multiplier or wide mux per stage; valid/first/last bits travel beside the data,
// whose registers have no enable): 1. weight address, and the element idx mod 16 of every 16-element block of
// the input (16:1 muxes), 2. weight word (block RAM) and the element (a mux over the blocks), 3. both again
// (the RAM's output register; with MUL_SPLIT also 3x and -x of the element, shared by all the pairs),
// 4-7. mul2 / mul2_split, 8. accumulators (bias as the first addend of a group), then requant straight from
// the accumulators into the group's slot of the result. The only stall: the issue of a group-0 element whose
// result would overwrite a result that still waits for the output register.
`default_nettype none

module linear #(
    parameter integer N_IN = 8,          // input features (> 0)
    parameter integer N_OUT = 8,         // output features, a multiple of LANES
    parameter integer LANES = 4,         // parallel MAC lanes (divides N_OUT)
    parameter integer IN_BITS = 8,       // input element width
    parameter integer IN_SIGNED = 1,     // 1: two's complement input, 0: unsigned (pixels)
    parameter integer W_BITS = 8,        // weight width (narrow-range signed)
    parameter integer ACC_BITS = 32,     // accumulator width (the model file proves no overflow)
    parameter integer OUT_BITS = 8,      // output element width
    parameter integer SHIFT = 0,         // in_frac + w_frac - out_frac: right shift with round half to even (>= 0)
    parameter integer OUT_MIN = -128,    // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter integer MUL_SPLIT = 0,     // lane pairs: 0 one packed multiply (mul2), 1 multiplier + LUTs (mul2_split)
    parameter WEIGHT_FILE = "weight.hex", // N_OUT/LANES * N_IN words of LANES*W_BITS bits, lane 0 in the LSBs
    parameter BIAS_FILE = "bias.hex"      // N_OUT/LANES words of LANES*ACC_BITS bits, lane 0 in the LSBs
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [N_IN*IN_BITS-1:0]   s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    input  wire                      s_axis_tlast,
    output reg  [N_OUT*OUT_BITS-1:0] m_axis_tdata,
    output reg                       m_axis_tvalid,
    input  wire                      m_axis_tready,
    output reg                       m_axis_tlast
);
    localparam integer GROUPS = N_OUT / LANES;
    localparam integer DEPTH = GROUPS * N_IN;
    localparam integer X_BITS = IN_BITS + (IN_SIGNED != 0 ? 0 : 1);  // the input element as a signed number
    localparam integer PROD_BITS = X_BITS + W_BITS;
    localparam integer MUL_LAT = 4;                              // mul2's and mul2_split's latency
    localparam integer ST_P = 3 + MUL_LAT;                       // pipeline stage of the products
    localparam integer ST_A = ST_P + 1;                          // stage of the accumulators
    localparam integer ST_R = ST_A + 1;                          // stage of the rounded sums (requant_reg)
    localparam integer GB = GROUPS > 1 ? $clog2(GROUPS) : 1;    // counter widths
    localparam integer IB = N_IN > 1 ? $clog2(N_IN) : 1;
    localparam integer RB = DEPTH > 1 ? $clog2(DEPTH) : 1;
    localparam integer LAST_IDX = N_IN - 1, LAST_GROUP = GROUPS - 1;  // as [IB-1:0], [GB-1:0] below
    // the element select in two steps: blocks of 2**LB elements (16:1 muxes), then one of XK blocks
    localparam integer LB = IB < 4 ? IB : 4;
    localparam integer XK = (N_IN + (1 << LB) - 1) >> LB;

    (* rom_style = "block" *) reg [LANES*W_BITS-1:0] weight_rom [0:DEPTH-1];  // BRAM even when shallow
    reg [LANES*ACC_BITS-1:0] bias_rom [0:GROUPS-1];
    initial begin
        $readmemh(WEIGHT_FILE, weight_rom);
        $readmemh(BIAS_FILE, bias_rom);
    end

    // ---- issue: one (group, element) per cycle while busy
    reg busy, last;                      // last: the token's TLAST
    reg [N_IN*IN_BITS-1:0] x;
    reg [GB-1:0] group;
    reg [IB-1:0] idx;
    reg [RB-1:0] rd;        // weight word of (group, idx)
    // result: y_busy from the issue of a token's last element until its result moved to the output
    // register; y_full once all its groups are in y
    reg y_busy, y_full, y_last;
    reg [N_OUT*OUT_BITS-1:0] y;

    wire idx_last = idx == LAST_IDX[IB-1:0];
    wire stall = y_busy && group == 0 && idx_last;  // group 0's result would land on a waiting result
    wire issue = busy && !stall;
    wire tok_end = issue && idx_last && group == LAST_GROUP[GB-1:0];
    wire out_free = !m_axis_tvalid || m_axis_tready;
    assign s_axis_tready = !busy || tok_end;
    wire take = s_axis_tvalid && s_axis_tready;

    // ---- stage flags: valid, first / last element of a group, group; [k] describes stage k's data
    reg [ST_R:1] pv, pl;
    reg [ST_P:1] pf;
    reg [GB-1:0] pg [1:ST_R];
    integer k;
    always @(posedge clk) begin
        pg[1] <= group;
        for (k = 2; k <= ST_R; k = k + 1) pg[k] <= pg[k-1];
        pf <= {pf[ST_P-1:1], idx == 0};
        pl <= {pl[ST_R-1:1], idx_last};
        if (rst) pv <= 0;
        else pv <= {pv[ST_R-1:1], issue};
    end

    // ---- stages 1-3: weight word and input element; a bubble's element is 0 (adds 0 to the accumulators)
    reg [RB-1:0] rd_q;
    reg [XK*IN_BITS-1:0] x_blk;  // stage 1: element idx mod 2**LB of every block
    reg [LANES*W_BITS-1:0] w_word, w_q;
    reg [IN_BITS-1:0] x_elem, x_q;
    wire [IN_BITS-1:0] x_sel;    // x_blk's element of block idx / 2**LB, into stage 2
    genvar g;
    generate
        wire [XK*(IN_BITS << LB)-1:0] x_pad;  // x, whole blocks
        if (XK << LB > N_IN) begin : x_short
            assign x_pad = {{((XK << LB) - N_IN)*IN_BITS{1'b0}}, x};
        end else begin : x_whole
            assign x_pad = x;
        end
        for (g = 0; g < XK; g = g + 1) begin : xblk
            wire [(IN_BITS << LB)-1:0] blk = x_pad[g*(IN_BITS << LB) +: (IN_BITS << LB)];
            always @(posedge clk) x_blk[g*IN_BITS +: IN_BITS] <= blk[idx[LB-1:0]*IN_BITS +: IN_BITS];
        end
        if (XK > 1) begin : xk_many
            reg [IB-LB-1:0] blk_q;  // idx / 2**LB
            always @(posedge clk) blk_q <= idx[IB-1:LB];
            assign x_sel = x_blk[blk_q*IN_BITS +: IN_BITS];
        end else begin : xk_one
            assign x_sel = x_blk;
        end
    endgenerate
    always @(posedge clk) begin
        rd_q <= rd;
        w_word <= weight_rom[rd_q];
        x_elem <= pv[1] ? x_sel : {IN_BITS{1'b0}};
        w_q <= w_word;
        x_q <= x_elem;
    end
    wire signed [X_BITS-1:0] xs;
    generate
        if (IN_SIGNED != 0) begin : x_signed
            assign xs = x_q;
        end else begin : x_unsigned
            assign xs = {1'b0, x_q};
        end
    endgenerate

    // ---- stages 4-7: products (two lanes per multiplier)
    wire [LANES*PROD_BITS-1:0] prod;
    generate
        if (MUL_SPLIT != 0 && LANES > 1) begin : split_pairs
            // the multiples of the element that mul2_split's partial products pick, beside x_q
            wire signed [X_BITS-1:0] xe;  // x_elem as a signed number
            if (IN_SIGNED != 0) begin : xe_signed
                assign xe = x_elem;
            end else begin : xe_unsigned
                assign xe = {1'b0, x_elem};
            end
            reg signed [X_BITS+1:0] x3_q;
            reg signed [X_BITS:0] xn_q;
            always @(posedge clk) begin
                x3_q <= {xe[X_BITS-1], xe, 1'b0} + {{2{xe[X_BITS-1]}}, xe};
                xn_q <= -{xe[X_BITS-1], xe};
            end
            for (g = 0; g + 1 < LANES; g = g + 2) begin : pair
                mul2_split #(.X_BITS(X_BITS), .C_BITS(W_BITS)) mul (.clk(clk), .x(xs), .x3(x3_q), .xn(xn_q),
                    .a(w_q[(g+1)*W_BITS +: W_BITS]), .b(w_q[g*W_BITS +: W_BITS]),
                    .xa(prod[(g+1)*PROD_BITS +: PROD_BITS]), .xb(prod[g*PROD_BITS +: PROD_BITS]));
            end
        end else begin : packed_pairs
            for (g = 0; g + 1 < LANES; g = g + 2) begin : pair
                mul2 #(.X_BITS(X_BITS), .C_BITS(W_BITS)) mul (.clk(clk), .x(xs),
                    .a(w_q[(g+1)*W_BITS +: W_BITS]), .b(w_q[g*W_BITS +: W_BITS]),
                    .xa(prod[(g+1)*PROD_BITS +: PROD_BITS]), .xb(prod[g*PROD_BITS +: PROD_BITS]));
            end
        end
        if (LANES % 2 == 1) begin : odd  // the same four registers as mul2
            reg signed [X_BITS-1:0] x1, xr;
            reg signed [W_BITS-1:0] w1, wr;
            reg signed [PROD_BITS-1:0] p, pr;
            always @(posedge clk) begin
                x1 <= xs;
                w1 <= w_q[(LANES-1)*W_BITS +: W_BITS];
                xr <= x1;
                wr <= w1;
                p <= xr * wr;
                pr <= p;
            end
            assign prod[(LANES-1)*PROD_BITS +: PROD_BITS] = pr;
        end
    endgenerate

    // ---- stage 8: accumulators; a group's first product adds to its bias (a mux inside the adder's LUTs)
    reg [LANES*ACC_BITS-1:0] bias_q, acc;
    wire [LANES*OUT_BITS-1:0] lane_out;
    always @(posedge clk) bias_q <= bias_rom[pg[ST_P-1]];  // the bias of the group entering stage ST_P
    generate
        for (g = 0; g < LANES; g = g + 1) begin : lane
            wire [PROD_BITS-1:0] pr_ = prod[g*PROD_BITS +: PROD_BITS];
            wire [ACC_BITS-1:0] addend = {{(ACC_BITS-PROD_BITS){pr_[PROD_BITS-1]}}, pr_};  // sign-extended
            always @(posedge clk)
                acc[g*ACC_BITS +: ACC_BITS] <=
                    (pf[ST_P] ? bias_q[g*ACC_BITS +: ACC_BITS] : acc[g*ACC_BITS +: ACC_BITS]) + addend;
            requant_reg #(.IN_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN),
                          .OUT_MAX(OUT_MAX))
                rq (.clk(clk), .x(acc[g*ACC_BITS +: ACC_BITS]), .y(lane_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate
    wire group_done = pv[ST_R] && pl[ST_R];  // lane_out holds a finished group

    always @(posedge clk) begin
        if (take) begin
            x <= s_axis_tdata;
            last <= s_axis_tlast;
        end
    end
    generate
        for (g = 0; g < GROUPS; g = g + 1) begin : slot
            localparam integer G = g;
            always @(posedge clk)
                if (group_done && pg[ST_R] == G[GB-1:0]) y[g*LANES*OUT_BITS +: LANES*OUT_BITS] <= lane_out;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            group <= 0;
            idx <= 0;
            rd <= 0;
            y_busy <= 1'b0;
            y_full <= 1'b0;
            y_last <= 1'b0;
            m_axis_tdata <= 0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            // issue; the counters rest at 0 between tokens
            if (take) busy <= 1'b1;
            else if (tok_end) busy <= 1'b0;
            if (issue) begin
                idx <= idx_last ? 0 : idx + 1'b1;
                if (idx_last) group <= group == LAST_GROUP[GB-1:0] ? 0 : group + 1'b1;
                rd <= tok_end ? 0 : rd + 1'b1;
            end
            // result to the output register; a token's last group completes its result
            if (m_axis_tready) m_axis_tvalid <= 1'b0;
            if (y_full && out_free) begin
                m_axis_tdata <= y;
                m_axis_tlast <= y_last;
                m_axis_tvalid <= 1'b1;
                y_full <= 1'b0;
                y_busy <= 1'b0;
            end
            if (group_done && pg[ST_R] == LAST_GROUP[GB-1:0]) y_full <= 1'b1;
            if (tok_end) begin
                y_busy <= 1'b1;
                y_last <= last;
            end
        end
    end
endmodule

`default_nettype wire

// layernorm kernel: integer LayerNorm of one token per beat (golden_kernels.layernorm), no affine (it is folded
// into the next linear). d_i = D*x_i - sum(x), r = max(isqrt(D * sum(d^2)), 1), n_i = floor(d_i*(D << F) / r),
// saturated. Two stages overlap so that the next token is taken while the previous one is divided:
//   A: sum(x) and sum(x^2) with LANES squarers (D/LANES cycles); S = D*sum(d^2) = D^2*(D*sum(x^2) - sum(x)^2)
//      with sum(x)^2 from squarer 0 (1 cycle); isqrt(S) one result bit per cycle (ROOT_BITS cycles);
//   B: DIV_LANES non-restoring dividers of QUOT_BITS steps each (D/DIV_LANES cycles), shifting the results into the
//      output register, which holds under backpressure.
// |n_i| < 2**QUOT_BITS for any input (rtl/gen.py proves it), so each division needs only QUOT_BITS steps.
// Constant factors (D, D << F) are shift-and-add, so the squarers are the only multipliers (DSPs).
`default_nettype none

module layernorm #(
    parameter integer D = 8,           // elements per token (beat)
    parameter integer IN_BITS = 8,     // input element width
    parameter integer IN_SIGNED = 1,   // 1: two's complement input, 0: unsigned
    parameter integer F = 4,           // fractional bits of the output (spec.layernorm_out_frac(D))
    parameter integer OUT_BITS = 8,    // output element width
    parameter integer OUT_MIN = -128,  // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter integer SUM_BITS = 12,   // signed width of sum(x) and D*x_i
    parameter integer MAG_BITS = 12,   // width of |d_i| <= (D-1)*(x_max-x_min)
    parameter integer XSQ_BITS = 20,   // width of sum(x^2)
    parameter integer ROOT_BITS = 17,  // width of r; S = D*sum(d^2) < 2**(2*ROOT_BITS)
    parameter integer NUM_BITS = 20,   // width of |d_i| * (D << F)
    parameter integer QUOT_BITS = 8,   // quotient bits: |d_i| * (D << F) / r < 2**QUOT_BITS
    parameter integer LANES = 4,       // squarers (divides D)
    parameter integer DIV_LANES = 2    // dividers (divides D)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [D*IN_BITS-1:0]  s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    input  wire                  s_axis_tlast,
    output reg  [D*OUT_BITS-1:0] m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam integer K = D << F;                       // numerator factor
    localparam integer SQ_STEPS = D / LANES;
    localparam integer DIV_STEPS = D / DIV_LANES;
    localparam integer S_BITS = 2 * ROOT_BITS;
    localparam integer MAX_STEPS = SQ_STEPS > ROOT_BITS ? (SQ_STEPS > DIV_STEPS ? SQ_STEPS : DIV_STEPS)
                                                        : (ROOT_BITS > DIV_STEPS ? ROOT_BITS : DIV_STEPS);
    localparam integer CW = $clog2(MAX_STEPS + 1);       // step counter width
    localparam integer NW = QUOT_BITS + 2 > OUT_BITS ? QUOT_BITS + 2 : OUT_BITS;  // signed quotient width
    localparam [CW-1:0] SQ_LAST = SQ_STEPS[CW-1:0] - 1'b1;     // last step of each phase
    localparam [CW-1:0] ROOT_LAST = ROOT_BITS[CW-1:0] - 1'b1;
    localparam [CW-1:0] DIV_LAST = DIV_STEPS[CW-1:0] - 1'b1;
    localparam signed [NW-1:0] LO = OUT_MIN[NW-1:0];
    localparam signed [NW-1:0] HI = OUT_MAX[NW-1:0];
    localparam [1:0] SQ = 2'd0, SCALE = 2'd1, SQRT = 2'd2, DONE = 2'd3;  // stage A phases

    // a * c for a constant c by shifts and adds (modulo 2**64; callers keep the bits that hold the product)
    function [63:0] times;
        input [63:0] a;
        input integer c;
        integer k;
        begin
            times = 64'd0;
            for (k = 0; k < 31; k = k + 1)
                if (((c >> k) & 1) != 0) times = times + (a << k);
        end
    endfunction

    // an input element, sign- or zero-extended to SUM_BITS (as 64 bits for `times`)
    function [63:0] extend;
        input [IN_BITS-1:0] x;
        begin
            extend = {{(64 - IN_BITS){IN_SIGNED != 0 && x[IN_BITS-1]}}, x};
        end
    endfunction

    // ---------------------------------------------------------------- stage A: statistics
    reg                   a_busy;
    reg [1:0]             a_phase;
    reg [CW-1:0]          a_cnt;
    reg [D*IN_BITS-1:0]   xa;        // the token
    reg [SUM_BITS-1:0]    sa;        // sum(x), accumulated
    reg                   lasta;
    reg [XSQ_BITS-1:0]    acc;       // sum(x^2)
    reg [S_BITS-1:0]      sreg;      // S, shifted out two bits per isqrt step
    reg [ROOT_BITS:0]     rem;       // isqrt remainder (<= 2*root)
    reg [ROOT_BITS-1:0]   root;

    // ---------------------------------------------------------------- stage B: divisions
    reg                   b_busy;
    reg [CW-1:0]          b_cnt;
    reg [D*IN_BITS-1:0]   xb;        // the token
    reg [SUM_BITS-1:0]    sb;
    reg [ROOT_BITS-1:0]   rb;        // r = max(isqrt(S), 1)
    reg                   lastb;

    wire out_free = !m_axis_tvalid || m_axis_tready;
    wire b_step = b_busy && out_free;
    wire b_end = b_step && b_cnt == DIV_LAST;
    wire b_load = a_busy && a_phase == DONE && (!b_busy || b_end);
    assign s_axis_tready = !a_busy || b_load;
    wire take = s_axis_tvalid && s_axis_tready;

    // wide intermediates: only the bits that hold the values are used
    /* verilator lint_off UNUSEDSIGNAL */
    // the elements of this step: LANES of xa, DIV_LANES of xb
    wire [LANES*IN_BITS-1:0] xa_grp = xa[a_cnt*(LANES*IN_BITS) +: LANES*IN_BITS];
    wire [DIV_LANES*IN_BITS-1:0] xb_grp = xb[b_cnt*(DIV_LANES*IN_BITS) +: DIV_LANES*IN_BITS];

    // LANES elements per step into sum(x) and sum(x^2); in the SCALE step lane 0 squares sum(x) instead
    wire [SUM_BITS-1:0] sa_mag = sa[SUM_BITS-1] ? -sa : sa;
    reg [SUM_BITS-1:0] sa_next;
    reg [XSQ_BITS-1:0] acc_next;
    reg [63:0] lane_x, lane_sq;
    reg [SUM_BITS-1:0] lane_in;  // |x| (or |sum(x)|): squared on a DSP
    reg [2*SUM_BITS-1:0] lane_prod;
    reg [2*SUM_BITS-1:0] s_sq;   // lane 0's square: sum(x)^2 in the SCALE step
    integer i;
    always @* begin
        sa_next = sa;
        acc_next = acc;
        s_sq = 0;
        for (i = 0; i < LANES; i = i + 1) begin
            lane_x = extend(xa_grp[i*IN_BITS +: IN_BITS]);
            lane_in = lane_x[63] ? -lane_x[SUM_BITS-1:0] : lane_x[SUM_BITS-1:0];
            if (i == 0 && a_phase == SCALE) lane_in = sa_mag;
            sa_next = sa_next + lane_x[SUM_BITS-1:0];
            lane_prod = lane_in * lane_in;
            lane_sq = {{(64 - 2*SUM_BITS){1'b0}}, lane_prod};
            acc_next = acc_next + lane_sq[XSQ_BITS-1:0];
            if (i == 0) s_sq = lane_sq[2*SUM_BITS-1:0];
        end
    end
    // S = D * sum(d^2) = D^2 * (D*sum(x^2) - sum(x)^2)
    wire [63:0] t_full = times({{(64 - XSQ_BITS){1'b0}}, acc}, D) - {{(64 - 2*SUM_BITS){1'b0}}, s_sq};
    wire [63:0] s_full = times(t_full, D * D);

    // one isqrt step: next result bit from the next two bits of S
    wire [ROOT_BITS+2:0] sq_t = {rem, sreg[S_BITS-1 -: 2]};
    wire [ROOT_BITS+2:0] sq_trial = {1'b0, root, 2'b01};
    wire sq_bit = sq_t >= sq_trial;
    wire [ROOT_BITS+2:0] sq_diff = sq_t - sq_trial;

    genvar g;
    wire [ROOT_BITS+1:0] neg_r = -{2'b00, rb};
    // DIV_LANES divisions n_i = floor(d_i * K / r), saturated
    wire [DIV_LANES*OUT_BITS-1:0] div_out;
    generate
        for (g = 0; g < DIV_LANES; g = g + 1) begin : divide
            wire [63:0] dx = times(extend(xb_grp[g*IN_BITS +: IN_BITS]), D);
            wire signed [SUM_BITS:0] d = $signed(dx[SUM_BITS-1:0]) - $signed(sb);
            wire [SUM_BITS:0] mag_full = d[SUM_BITS] ? -d : d;
            wire [63:0] num_full = times({{(64 - MAG_BITS){1'b0}}, mag_full[MAG_BITS-1:0]}, K);
            wire [NUM_BITS+ROOT_BITS-1:0] num = {{ROOT_BITS{1'b0}}, num_full[NUM_BITS-1:0]};
            wire [NUM_BITS+ROOT_BITS-1:0] num_hi = num >> QUOT_BITS;  // < r
            reg [ROOT_BITS+1:0] p;  // non-restoring partial remainder, in [-r, r)
            reg [QUOT_BITS-1:0] q;
            reg signed [NW-1:0] n;
            reg [OUT_BITS-1:0] y;
            integer j;
            always @* begin
                p = {2'b00, num_hi[ROOT_BITS-1:0]};
                q = {QUOT_BITS{1'b0}};
                for (j = QUOT_BITS - 1; j >= 0; j = j - 1) begin
                    // 2p + bit - r when p >= 0, 2p + bit + r when p < 0: one adder, r inverted by XOR
                    p = {p[ROOT_BITS:0], num[j]} + ({2'b00, rb} ^ {(ROOT_BITS + 2){~p[ROOT_BITS+1]}})
                        + {{(ROOT_BITS + 1){1'b0}}, ~p[ROOT_BITS+1]};
                    q[j] = ~p[ROOT_BITS+1];
                end
                // floor: a negative quotient with a remainder rounds down
                n = {{(NW - QUOT_BITS){1'b0}}, q};
                // the remainder is p (p >= 0) or p + r (p < 0): zero when p is 0 or -r
                if (d[SUM_BITS]) n = -n - (p != 0 && p != neg_r);
                if (n < LO) y = OUT_MIN[OUT_BITS-1:0];
                else if (n > HI) y = OUT_MAX[OUT_BITS-1:0];
                else y = n[OUT_BITS-1:0];
            end
            assign div_out[g*OUT_BITS +: OUT_BITS] = y;
        end
    endgenerate
    wire [D*OUT_BITS+DIV_LANES*OUT_BITS-1:0] out_shift = {div_out, m_axis_tdata};

    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (rst) begin
            a_busy <= 1'b0;
            b_busy <= 1'b0;
            a_phase <= SQ;
            a_cnt <= 0;
            b_cnt <= 0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            // stage B: DIV_LANES results per step into the output register, element 0 ends in the LSBs
            if (b_step) begin
                m_axis_tdata <= out_shift[D*OUT_BITS+DIV_LANES*OUT_BITS-1:DIV_LANES*OUT_BITS];
                b_cnt <= b_cnt + 1'b1;
                if (b_end) begin
                    b_busy <= 1'b0;
                    m_axis_tvalid <= 1'b1;
                    m_axis_tlast <= lastb;
                end
            end
            if (b_load) begin  // stage A hands its token over
                xb <= xa;
                sb <= sa;
                rb <= {root[ROOT_BITS-1:1], root[0] | ~|root};
                lastb <= lasta;
                b_busy <= 1'b1;
                b_cnt <= 0;
                a_busy <= 1'b0;
            end
            // stage A
            if (a_busy) begin
                case (a_phase)
                    SQ: begin
                        acc <= acc_next;
                        sa <= sa_next;
                        a_cnt <= a_cnt + 1'b1;
                        if (a_cnt == SQ_LAST) a_phase <= SCALE;
                    end
                    SCALE: begin
                        sreg <= s_full[S_BITS-1:0];
                        rem <= 0;
                        root <= 0;
                        a_cnt <= 0;
                        a_phase <= SQRT;
                    end
                    SQRT: begin
                        sreg <= sreg << 2;
                        rem <= sq_bit ? sq_diff[ROOT_BITS:0] : sq_t[ROOT_BITS:0];
                        root <= {root[ROOT_BITS-2:0], sq_bit};
                        a_cnt <= a_cnt + 1'b1;
                        if (a_cnt == ROOT_LAST) a_phase <= DONE;
                    end
                    default: ;
                endcase
            end
            if (take) begin
                xa <= s_axis_tdata;
                sa <= 0;
                lasta <= s_axis_tlast;
                acc <= 0;
                a_cnt <= 0;
                a_phase <= SQ;
                a_busy <= 1'b1;
            end
        end
    end
endmodule

`default_nettype wire

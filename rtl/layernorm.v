// layernorm kernel: integer LayerNorm of one token per beat (golden_kernels.layernorm), no affine (it is folded
// into the next linear). d_i = D*x_i - sum(x), r = max(isqrt(D * sum(d^2)), 1), n_i = floor(d_i*(D << F) / r),
// saturated. Two stages overlap so that the next token's statistics are taken while the previous one is divided;
// every step is pipelined to one carry chain (adder, comparator) or one multiplier per clock:
//   A: sum(x) and sum(x^2), LANES elements per step through a registered mux -> squarer -> accumulator pipeline,
//      then sum(x) itself through squarer 0: D/LANES + 5 cycles.
//   B: T = D*sum(x^2) - sum(x)^2 (2 cycles), S = D*sum(d^2) = D^2 * T (1 cycle), isqrt(S) one result bit per
//      cycle (ROOT_BITS cycles); then, once the output register is free, D/DIV_LANES groups of DIV_LANES elements
//      enter DIV_LANES dividers pipelined one stage per step (a new division per lane and cycle): D*d_i =
//      D^2*x_i - D*sum(x), |.|, QUOT_BITS non-restoring steps, floor fix-up, sign; the results shift into the
//      output register (it only shifts while tvalid is low, so the pipeline never stalls).
// |n_i| < 2**QUOT_BITS for any input (rtl/gen.py proves it), so each division needs only QUOT_BITS steps, and
// d_i*(D << F) = (D*d_i) << F, so the division's numerator needs no multiply of its own.
// Constant factors (D, D^2) are shift-and-add, so the squarers are the only multipliers (DSPs).
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
    parameter integer XSQ_BITS = 20,   // width of sum(x^2)
    parameter integer ROOT_BITS = 17,  // width of r; S = D*sum(d^2) < 2**(2*ROOT_BITS)
    parameter integer NUM_BITS = 20,   // width of |d_i| * (D << F), |d_i| <= (D-1)*(x_max-x_min)
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
    localparam integer SQ_STEPS = D / LANES;
    localparam integer DIV_STEPS = D / DIV_LANES;
    localparam integer S_BITS = 2 * ROOT_BITS;
    localparam integer T_BITS = XSQ_BITS + $clog2(D);     // T <= D*sum(x^2) < 2**T_BITS
    localparam integer DD_BITS = NUM_BITS - F + 1;        // signed D*d_i: |d_i| * D < 2**(NUM_BITS-F)
    localparam integer PW = ROOT_BITS + 2;                // divider partial remainder, in [-r, r)
    localparam integer NW = QUOT_BITS + 2 > OUT_BITS ? QUOT_BITS + 2 : OUT_BITS;  // signed quotient width
    localparam integer A_DONE = SQ_STEPS + 4;             // stage A's results are final at this count
    localparam integer AW = $clog2(A_DONE + 1);
    localparam integer BW = $clog2((ROOT_BITS > DIV_STEPS ? ROOT_BITS : DIV_STEPS) + 1);
    localparam integer B_LAT = QUOT_BITS + 6;             // divider pipeline: group, D^2*x, D*d, |D*d|, steps,
                                                          // fix-up, sign
    localparam [AW-1:0] A_LAST = A_DONE[AW-1:0];
    localparam [AW-1:0] SQ_END = SQ_STEPS[AW-1:0];        // elements enter while a_cnt < SQ_END
    localparam [AW-1:0] SUM_SLOT = SQ_END + 1'b1;         // sum(x) (final by then) enters squarer 0
    localparam [BW-1:0] ROOT_LAST = ROOT_BITS[BW-1:0] - 1'b1;
    localparam [BW-1:0] DIV_LAST = DIV_STEPS[BW-1:0] - 1'b1;
    localparam signed [NW-1:0] LO = OUT_MIN[NW-1:0];
    localparam signed [NW-1:0] HI = OUT_MAX[NW-1:0];
    // stage B phases
    localparam [2:0] SUB = 3'd0, SCALE = 3'd1, SQRT = 3'd2, WAIT = 3'd3, DIV = 3'd4, DRAIN = 3'd5;

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

    // an input element, sign- or zero-extended to 64 bits
    function [63:0] extend;
        input [IN_BITS-1:0] x;
        begin
            extend = {{(64 - IN_BITS){IN_SIGNED != 0 && x[IN_BITS-1]}}, x};
        end
    endfunction

    // ---------------------------------------------------------------- stage A: statistics
    reg                      a_busy;
    reg [AW-1:0]             a_cnt;     // cycles since the token was taken, up to A_DONE
    reg [D*IN_BITS-1:0]      xa;        // the token
    reg                      lasta;
    reg [LANES*IN_BITS-1:0]  xs;        // this step's elements (registered mux)
    reg [LANES*SUM_BITS-1:0] mi;        // squarer inputs: the elements, or sum(x) in lane 0
    reg [LANES*2*SUM_BITS-1:0] prod;    // squares
    reg                      a_v1, a_v2, a_v3;  // xs / mi / prod hold elements
    reg                      a_s2, a_s3;        // mi / prod hold sum(x)
    reg [SUM_BITS-1:0]       sa;        // sum(x)
    reg [XSQ_BITS-1:0]       acc;       // sum(x^2)
    reg [2*SUM_BITS-1:0]     ssq;       // sum(x)^2

    // ---------------------------------------------------------------- stage B: root, then divisions
    reg                      b_busy;
    reg [2:0]                b_phase;
    reg [BW-1:0]             b_cnt;
    reg [D*IN_BITS-1:0]      xb;        // the token
    reg                      lastb;
    reg [T_BITS-1:0]         u;         // D*sum(x^2)
    reg [T_BITS-1:0]         ssqb;      // sum(x)^2 (<= D*sum(x^2))
    reg [T_BITS-1:0]         t;         // T = D*sum(x^2) - sum(x)^2
    reg [DD_BITS-1:0]        dsum;      // D*sum(x), modulo 2**DD_BITS
    reg [S_BITS-1:0]         sreg;      // S, shifted out two bits per isqrt step
    reg [ROOT_BITS:0]        rem;       // isqrt remainder (<= 2*root)
    reg [ROOT_BITS-1:0]      root;
    reg [ROOT_BITS-1:0]      rdiv;      // r = max(isqrt(S), 1)
    reg [PW-1:0]             neg_r;     // -r
    reg [DIV_LANES*IN_BITS-1:0] xg;     // this group's elements (registered mux)
    reg [B_LAT:1]            b_v, b_e;  // divider pipeline stage k holds a group / the token's last group

    wire a_hand = a_busy && a_cnt == A_LAST && !b_busy;  // stage A hands its token over to stage B
    assign s_axis_tready = !a_busy || a_hand;
    wire take = s_axis_tvalid && s_axis_tready;

    // constant products, computed on 64 bits: only the low bits that hold the values are used
    /* verilator lint_off UNUSEDSIGNAL */
    wire [63:0] u_full = times({{(64 - XSQ_BITS){1'b0}}, acc}, D);
    wire [63:0] dsum_full = times({{(64 - SUM_BITS){sa[SUM_BITS-1]}}, sa}, D);
    wire [63:0] ssq_full = {{(64 - 2*SUM_BITS){1'b0}}, ssq};
    wire [63:0] s_full = times({{(64 - T_BITS){1'b0}}, t}, D * D);
    /* verilator lint_on UNUSEDSIGNAL */

    // one isqrt step: next result bit from the next two bits of S; the subtraction's borrow is the comparison
    wire [ROOT_BITS+2:0] sq_t = {rem, sreg[S_BITS-1 -: 2]};
    wire [ROOT_BITS+3:0] sq_d = {1'b0, sq_t} - {2'b00, root, 2'b01};
    wire sq_bit = !sq_d[ROOT_BITS+3];

    // stage A's multiply-accumulate pipeline (free-running; the valid bits say which results count)
    integer i, l;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [63:0] lane_x;  // an element, extended: only the low SUM_BITS are used
    /* verilator lint_on UNUSEDSIGNAL */
    reg [LANES*SUM_BITS-1:0] xs_ext;
    reg [SUM_BITS-1:0] sa_next;
    reg [XSQ_BITS-1:0] acc_next;
    always @* begin
        sa_next = sa;
        acc_next = acc;
        for (i = 0; i < LANES; i = i + 1) begin
            lane_x = extend(xs[i*IN_BITS +: IN_BITS]);
            xs_ext[i*SUM_BITS +: SUM_BITS] = lane_x[SUM_BITS-1:0];
            sa_next = sa_next + lane_x[SUM_BITS-1:0];
            acc_next = acc_next + prod[i*2*SUM_BITS +: XSQ_BITS];  // x^2 < 2**(2*IN_BITS) <= 2**XSQ_BITS
        end
    end
    always @(posedge clk) begin
        if (a_busy && a_cnt < SQ_END) xs <= xa[a_cnt*(LANES*IN_BITS) +: LANES*IN_BITS];
        mi <= xs_ext;
        for (l = 0; l < LANES; l = l + 1)
            prod[l*2*SUM_BITS +: 2*SUM_BITS] <= $signed(mi[l*SUM_BITS +: SUM_BITS])
                                                * $signed(mi[l*SUM_BITS +: SUM_BITS]);
        if (!a_v1) mi[SUM_BITS-1:0] <= sa;  // only the sum slot uses it
    end

    // DIV_LANES dividers: n_i = floor(d_i * (D << F) / r), saturated
    wire [DIV_LANES*OUT_BITS-1:0] div_out;
    genvar g;
    generate
        for (g = 0; g < DIV_LANES; g = g + 1) begin : divide
            reg [DD_BITS-1:0] dx2;                    // D^2 * x_i (modulo 2**DD_BITS)
            reg [DD_BITS-1:0] dd;                     // D * d_i
            reg [DD_BITS-2:0] mag;                    // |D * d_i|
            reg [QUOT_BITS+1:0] neg;                  // d_i < 0, per stage from mag on
            reg [QUOT_BITS*PW-1:0] p;                 // partial remainder after step j+1 in slice j
            reg [QUOT_BITS*QUOT_BITS-1:0] w;          // numerator bits still to come, then quotient bits
            reg [QUOT_BITS-1:0] qf;                   // fix-up stage: quotient
            reg nz;                                   // remainder != 0
            reg signed [NW-1:0] n;
            reg [OUT_BITS-1:0] y;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [63:0] dx2_full = times(extend(xg[g*IN_BITS +: IN_BITS]), D * D);
            // the numerator |D*d_i| << F: its high part is below r, so it starts the remainder
            wire [NUM_BITS+PW-1:0] num = {{PW{1'b0}}, mag, {F{1'b0}}};
            wire [NUM_BITS+PW-1:0] num_hi = num >> QUOT_BITS;
            /* verilator lint_on UNUSEDSIGNAL */
            // QUOT_BITS non-restoring steps, one per stage: 2p + bit - r when p >= 0, 2p + bit + r when p < 0
            // (one adder, r inverted by XOR); the quotient bits shift in behind the numerator bits
            reg [QUOT_BITS*PW-1:0] p_next;
            reg [QUOT_BITS*QUOT_BITS-1:0] w_next;
            reg [PW-1:0] pj, pn;
            reg [QUOT_BITS-1:0] wj;
            integer j;
            always @* begin
                for (j = 0; j < QUOT_BITS; j = j + 1) begin
                    pj = j == 0 ? num_hi[PW-1:0] : p[(j-1)*PW +: PW];
                    wj = j == 0 ? num[QUOT_BITS-1:0] : w[(j-1)*QUOT_BITS +: QUOT_BITS];
                    pn = {pj[PW-2:0], wj[QUOT_BITS-1]} + ({2'b00, rdiv} ^ {PW{~pj[PW-1]}})
                         + {{(PW-1){1'b0}}, ~pj[PW-1]};
                    p_next[j*PW +: PW] = pn;
                    w_next[j*QUOT_BITS +: QUOT_BITS] = {wj[QUOT_BITS-2:0], ~pn[PW-1]};
                end
            end
            always @(posedge clk) begin
                dx2 <= dx2_full[DD_BITS-1:0];
                dd <= dx2 - dsum;
                mag <= dd[DD_BITS-1] ? -dd[DD_BITS-2:0] : dd[DD_BITS-2:0];
                neg <= {neg[QUOT_BITS:0], dd[DD_BITS-1]};
                p <= p_next;
                w <= w_next;
                // floor: a negative quotient with a remainder rounds down; the remainder is p (p >= 0) or
                // p + r (p < 0): zero when p is 0 or -r
                qf <= w[(QUOT_BITS-1)*QUOT_BITS +: QUOT_BITS];
                nz <= p[(QUOT_BITS-1)*PW +: PW] != {PW{1'b0}} && p[(QUOT_BITS-1)*PW +: PW] != neg_r;
                // -q - nz = ~q + !nz
                n <= neg[QUOT_BITS+1] ? ~{{(NW - QUOT_BITS){1'b0}}, qf} + {{(NW - 1){1'b0}}, ~nz}
                                    : {{(NW - QUOT_BITS){1'b0}}, qf};
            end
            always @* begin
                if (n < LO) y = OUT_MIN[OUT_BITS-1:0];
                else if (n > HI) y = OUT_MAX[OUT_BITS-1:0];
                else y = n[OUT_BITS-1:0];
            end
            assign div_out[g*OUT_BITS +: OUT_BITS] = y;
        end
    endgenerate
    /* verilator lint_off UNUSEDSIGNAL */
    wire [D*OUT_BITS+DIV_LANES*OUT_BITS-1:0] out_shift = {div_out, m_axis_tdata};  // the low bits shift out
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (b_phase == DIV) xg <= xb[b_cnt*(DIV_LANES*IN_BITS) +: DIV_LANES*IN_BITS];
        neg_r <= -{2'b00, rdiv};
        if (rst) begin
            a_busy <= 1'b0;
            a_cnt <= 0;
            a_v1 <= 1'b0;
            a_v2 <= 1'b0;
            a_v3 <= 1'b0;
            a_s2 <= 1'b0;
            a_s3 <= 1'b0;
            b_busy <= 1'b0;
            b_phase <= SUB;
            b_cnt <= 0;
            b_v <= 0;
            b_e <= 0;
            m_axis_tdata <= 0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            // stage A: a_cnt steps the pipeline's slots: elements while a_cnt < SQ_END, sum(x) at SUM_SLOT
            a_v1 <= a_busy && a_cnt < SQ_END;
            a_v2 <= a_v1;
            a_v3 <= a_v2;
            a_s2 <= a_busy && a_cnt == SUM_SLOT;
            a_s3 <= a_s2;
            if (a_v1) sa <= sa_next;
            if (a_v3) acc <= acc_next;
            if (a_s3) ssq <= prod[2*SUM_BITS-1:0];
            if (a_busy && a_cnt != A_LAST) a_cnt <= a_cnt + 1'b1;
            if (a_hand) a_busy <= 1'b0;
            if (take) begin
                xa <= s_axis_tdata;
                lasta <= s_axis_tlast;
                sa <= 0;
                acc <= 0;
                a_cnt <= 0;
                a_busy <= 1'b1;
            end

            // stage B
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            b_v <= {b_v[B_LAT-1:1], b_busy && b_phase == DIV};
            b_e <= {b_e[B_LAT-1:1], b_busy && b_phase == DIV && b_cnt == DIV_LAST};
            if (b_v[B_LAT])  // DIV_LANES results into the output register, element 0 ends in the LSBs
                m_axis_tdata <= out_shift[D*OUT_BITS+DIV_LANES*OUT_BITS-1:DIV_LANES*OUT_BITS];
            if (a_hand) begin
                xb <= xa;
                lastb <= lasta;
                u <= u_full[T_BITS-1:0];
                ssqb <= ssq_full[T_BITS-1:0];
                dsum <= dsum_full[DD_BITS-1:0];
                b_busy <= 1'b1;
                b_phase <= SUB;
            end else if (b_busy) begin
                case (b_phase)
                    SUB: begin
                        t <= u - ssqb;
                        b_phase <= SCALE;
                    end
                    SCALE: begin
                        sreg <= s_full[S_BITS-1:0];
                        rem <= 0;
                        root <= 0;
                        b_cnt <= 0;
                        b_phase <= SQRT;
                    end
                    SQRT: begin
                        sreg <= sreg << 2;
                        rem <= sq_bit ? sq_d[ROOT_BITS:0] : sq_t[ROOT_BITS:0];
                        root <= {root[ROOT_BITS-2:0], sq_bit};
                        b_cnt <= b_cnt + 1'b1;
                        if (b_cnt == ROOT_LAST) b_phase <= WAIT;
                    end
                    WAIT: if (!m_axis_tvalid) begin  // the output register is free: start the divisions
                        rdiv <= {root[ROOT_BITS-1:1], root[0] | ~|root};
                        b_cnt <= 0;
                        b_phase <= DIV;
                    end
                    DIV: begin
                        b_cnt <= b_cnt + 1'b1;
                        if (b_cnt == DIV_LAST) b_phase <= DRAIN;
                    end
                    default: if (b_e[B_LAT]) begin  // DRAIN: the last group is in the output register
                        b_busy <= 1'b0;
                        m_axis_tvalid <= 1'b1;
                        m_axis_tlast <= lastb;
                    end
                endcase
            end
        end
    end
endmodule

`default_nettype wire

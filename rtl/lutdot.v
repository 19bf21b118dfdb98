// lutdot: pipelined signed dot product of L pairs in LUT logic only (Yosys maps every `*` of 8x8 bits onto a
// DSP48E1; this keeps a wide dot product off them), less a small offset that depends on b alone:
//   y = sum_l a_l * b_l - off(b),  off(b) = sum_l sum_m neg_lm * 4**m  (0 <= off < L * 4**M / 3),
// LATENCY = 1 + (T + 2) / 2 cycles after a and b (T = clog2(L) + clog2(M) adder levels, M Booth digits).
// The caller must be indifferent to off(b): attention feeds q as b, which is constant over a (query, head)
// job, so every score of the job carries the same offset and the softmax (s_j - max s) cancels it exactly.
// b is radix-4 Booth recoded: digit m of b_l, from its bits (2m+1, 2m, 2m-1), is 0, +-1 or +-2 (neg_lm: the
// digit is negative), so the partial product is 0, a_l or 2 a_l, ones'-complemented when negative (one LUT
// per bit); the two's-complement +1 corrections are what off(b) leaves out, so that no carry-in nor extra
// adder is spent on them. The L rows of one digit position are summed in a balanced tree, then the M digit
// sums in a tree of shift-by-2**(u+1) adders, all one carry chain per level. Pipeline: a and b's Booth
// controls are registered on entry, then every even adder level and the last one end in a register (two
// narrow carry chains per stage).
// Kept as its own module in synthesis (keep_hierarchy): flattened into attention, Yosys' ABC spends 4x the
// time on the merged logic and maps it to more LUTs.
`default_nettype none

(* keep_hierarchy *)
module lutdot #(
    parameter integer L = 16,         // pairs, >= 2
    parameter integer A_BITS = 8,     // a width (signed)
    parameter integer B_BITS = 8,     // b width (signed), Booth recoded
    parameter integer OUT_BITS = 20   // result width (signed), >= A_BITS + B_BITS + clog2(L) + 1
) (
    input  wire                       clk,
    input  wire [L*A_BITS-1:0]        a,
    input  wire [L*B_BITS-1:0]        b,
    output wire signed [OUT_BITS-1:0] y
);
    localparam integer M = (B_BITS + 1) / 2;     // Booth digits
    localparam integer RW = A_BITS + 1;          // partial product row width (|digit * a| <= 2**A_BITS)
    localparam integer LV = $clog2(L);           // tree levels
    localparam integer LP = 1 << LV;             // leaves, L padded to a power of two with zero rows
    localparam integer TW = RW + LV;             // per-digit sum width
    localparam integer CL = $clog2(M);           // digit combining levels
    localparam integer MP = 1 << CL;             // digits padded to a power of two with zero sums

    // entry registers: a, and per (pair, digit) the Booth controls of b
    reg [L*A_BITS-1:0] a_r;
    reg [L*M-1:0] one_r, two_r, neg_r;
    genvar l, m, v, n, u;
    generate
        for (l = 0; l < L; l = l + 1) begin : booth
            wire [2*M:0] bl = {{(2*M-B_BITS){b[l*B_BITS+B_BITS-1]}}, b[l*B_BITS +: B_BITS], 1'b0};
            wire unused_bl = &{1'b0, bl};
            for (m = 0; m < M; m = m + 1) begin : dig
                wire [2:0] bits = bl[2*m +: 3];  // b bits 2m+1, 2m, 2m-1
                always @(posedge clk) begin
                    one_r[l*M + m] <= bits[1] ^ bits[0];
                    two_r[l*M + m] <= (bits[2] & !bits[1] & !bits[0]) | (!bits[2] & bits[1] & bits[0]);
                    neg_r[l*M + m] <= bits[2];
                end
            end
        end
    endgenerate
    always @(posedge clk) a_r <= a;

    wire [MP*OUT_BITS-1:0] root;  // digit sums, sign-extended (zero for the padding digits)
    generate
        for (m = 0; m < MP; m = m + 1) begin : digit
            if (m < M) begin : g_dig
                wire [LP*RW-1:0] rows;
                for (l = 0; l < LP; l = l + 1) begin : row
                    if (l < L) begin : g_row
                        wire [A_BITS-1:0] al = a_r[l*A_BITS +: A_BITS];
                        wire [RW-1:0] mag = one_r[l*M + m] ? {al[A_BITS-1], al} :
                                            two_r[l*M + m] ? {al, 1'b0} : {RW{1'b0}};
                        assign rows[l*RW +: RW] = neg_r[l*M + m] ? ~mag : mag;  // -mag - 1 (off)
                    end else begin : g_pad
                        assign rows[l*RW +: RW] = {RW{1'b0}};
                    end
                end
                // tree level v (adder level v of the pipeline): node n = nodes 2n, 2n+1 of level v - 1 (the rows
                // for v = 0); registered when v is even or the last adder level
                for (v = 0; v < LV; v = v + 1) begin : level
                    localparam integer W = RW + v;  // input width
                    wire [(LP >> v)*W-1:0] in;
                    wire [(LP >> (v + 1))*(W+1)-1:0] sum_c, sum;
                    if (v == 0) begin : g_rows
                        assign in = rows;
                    end else begin : g_up
                        assign in = level[v-1].sum;
                    end
                    for (n = 0; n < (LP >> (v + 1)); n = n + 1) begin : node
                        wire [W-1:0] x0 = in[2*n*W +: W];
                        wire [W-1:0] x1 = in[(2*n+1)*W +: W];
                        assign sum_c[n*(W+1) +: W+1] = {x0[W-1], x0} + {x1[W-1], x1};
                    end
                    if (v % 2 == 0 || v == LV + CL - 1) begin : g_reg
                        reg [(LP >> (v + 1))*(W+1)-1:0] sum_r;
                        always @(posedge clk) sum_r <= sum_c;
                        assign sum = sum_r;
                    end else begin : g_comb
                        assign sum = sum_c;
                    end
                end
                wire [TW-1:0] r = level[LV-1].sum;
                assign root[m*OUT_BITS +: OUT_BITS] = {{(OUT_BITS-TW){r[TW-1]}}, r};
            end else begin : g_pad
                assign root[m*OUT_BITS +: OUT_BITS] = {OUT_BITS{1'b0}};
            end
        end
        // combining level u (adder level LV + u): node n = digit sums 2n + (2n+1) * 4**(2**u), modulo
        // 2**OUT_BITS (the result fits)
        for (u = 0; u < CL; u = u + 1) begin : comb
            wire [(MP >> u)*OUT_BITS-1:0] in;
            wire [(MP >> (u + 1))*OUT_BITS-1:0] sum_c, sum;
            if (u == 0) begin : g_roots
                assign in = root;
            end else begin : g_up
                assign in = comb[u-1].sum;
            end
            for (n = 0; n < (MP >> (u + 1)); n = n + 1) begin : node
                wire [OUT_BITS-1:0] x0 = in[2*n*OUT_BITS +: OUT_BITS];
                wire [OUT_BITS-1:0] x1 = in[(2*n+1)*OUT_BITS +: OUT_BITS];
                wire unused_x1 = &{1'b0, x1};  // its top bits shift out
                assign sum_c[n*OUT_BITS +: OUT_BITS] = {x1[OUT_BITS-1-(2<<u):0], {(2<<u){1'b0}}} + x0;
            end
            if ((LV + u) % 2 == 0 || u == CL - 1) begin : g_reg
                reg [(MP >> (u + 1))*OUT_BITS-1:0] sum_r;
                always @(posedge clk) sum_r <= sum_c;
                assign sum = sum_r;
            end else begin : g_comb
                assign sum = sum_c;
            end
        end
        if (CL == 0) begin : g_one
            assign y = root[OUT_BITS-1:0];
        end else begin : g_many
            assign y = comb[CL-1].sum;
        end
    endgenerate
endmodule

`default_nettype wire

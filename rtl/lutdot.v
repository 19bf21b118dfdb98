// lutdot: signed dot product y = sum_l a_l * b_l of L pairs in LUT logic only (Yosys maps every `*` of 8x8
// bits onto a DSP48E1; this keeps a wide dot product off them). b is radix-4 Booth recoded: digit m of b_l,
// from its bits (2m+1, 2m, 2m-1), is 0, +-1 or +-2, so the partial product is 0, a_l or 2 a_l, ones'-
// complemented when the digit is negative (one LUT per bit). The L rows of one digit position are summed in
// a balanced tree whose adders take the rows' +1 complement corrections as carry-ins (free on CARRY4); the
// per-digit sums are combined Horner-wise, shifting by 2 bits, with the leftover corrections as carry-ins.
// Combinational. Kept as its own module in synthesis (keep_hierarchy): flattened into attention, Yosys' ABC
// spends 4x the time on the merged logic and maps it to ~225 more LUTs.
`default_nettype none

(* keep_hierarchy *)
module lutdot #(
    parameter integer L = 16,         // pairs
    parameter integer A_BITS = 8,     // a width (signed)
    parameter integer B_BITS = 8,     // b width (signed), Booth recoded
    parameter integer OUT_BITS = 20   // result width (signed), >= A_BITS + B_BITS + clog2(L)
) (
    input  wire [L*A_BITS-1:0]        a,
    input  wire [L*B_BITS-1:0]        b,
    output wire signed [OUT_BITS-1:0] y
);
    localparam integer M = (B_BITS + 1) / 2;     // Booth digits
    localparam integer RW = A_BITS + 1;          // partial product row width (|digit * a| <= 2**A_BITS)
    localparam integer LV = $clog2(L);           // tree levels
    localparam integer LP = 1 << LV;             // leaves, L padded to a power of two with zero rows
    localparam integer TW = RW + LV;             // per-digit sum width

    wire [M*LP-1:0] neg;                 // complement corrections, weight 4**m
    wire [M*TW-1:0] root;
    genvar l, m, v, n;
    generate
        for (m = 0; m < M; m = m + 1) begin : digit
            wire [LP*RW-1:0] rows;
            for (l = 0; l < LP; l = l + 1) begin : row
                if (l < L) begin : g_row
                    wire signed [A_BITS-1:0] al = a[l*A_BITS +: A_BITS];
                    wire [2*M:0] bl = {{(2*M-B_BITS){b[l*B_BITS+B_BITS-1]}}, b[l*B_BITS +: B_BITS], 1'b0};
                    wire [2:0] bits = bl[2*m +: 3];  // b bits 2m+1, 2m, 2m-1
                    wire unused_bl = &{1'b0, bl};
                    wire one = bits[1] ^ bits[0];
                    wire two = (bits[2] & !bits[1] & !bits[0]) | (!bits[2] & bits[1] & bits[0]);
                    wire [RW-1:0] mag = one ? {al[A_BITS-1], al} : two ? {al, 1'b0} : {RW{1'b0}};
                    assign rows[l*RW +: RW] = bits[2] ? ~mag : mag;
                    assign neg[m*LP + l] = bits[2];
                end else begin : g_pad
                    assign rows[l*RW +: RW] = {RW{1'b0}};
                    assign neg[m*LP + l] = 1'b0;
                end
            end
            // level v + 1: node n = nodes 2n, 2n+1 of level v (the rows for v = 0) + correction bit
            // LP - (LP >> v) + n + 1 of this digit, as a carry-in
            for (v = 0; v < LV; v = v + 1) begin : level
                localparam integer W = RW + v;  // input width
                wire [(LP >> v)*W-1:0] in;
                wire [(LP >> (v + 1))*(W+1)-1:0] sum;
                if (v == 0) begin : g_rows
                    assign in = rows;
                end else begin : g_up
                    assign in = level[v-1].sum;
                end
                for (n = 0; n < (LP >> (v + 1)); n = n + 1) begin : node
                    wire [W-1:0] x0 = in[2*n*W +: W];
                    wire [W-1:0] x1 = in[(2*n+1)*W +: W];
                    assign sum[n*(W+1) +: W+1] = {x0[W-1], x0} + {x1[W-1], x1} +
                        {{W{1'b0}}, neg[m*LP + LP - (LP >> v) + n + 1]};
                end
            end
            assign root[m*TW +: TW] = level[LV-1].sum;
        end
    endgenerate

    // the trees took corrections 1 .. LP-1 of their digit; correction 0 goes into the Horner adders
    reg [OUT_BITS-1:0] acc;
    reg [TW-1:0] r;
    integer i;
    always @* begin
        r = root[(M-1)*TW +: TW];
        acc = {{(OUT_BITS-TW){r[TW-1]}}, r} + {{(OUT_BITS-1){1'b0}}, neg[(M-1)*LP]};
        for (i = M - 2; i >= 0; i = i - 1) begin
            r = root[i*TW +: TW];
            acc = {acc[OUT_BITS-3:0], 2'b00} + {{(OUT_BITS-TW){r[TW-1]}}, r} + {{(OUT_BITS-1){1'b0}}, neg[i*LP]};
        end
    end
    assign y = acc;
endmodule

`default_nettype wire

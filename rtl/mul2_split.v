// mul2_split: the two products x*a and x*b of one shared signed operand x, as mul2 (same ports, same latency),
// but with x*b alone on the multiplier and x*a in LUTs. mul2 packs both into one 25x8 multiply, which an
// ECP5 builds from two 18x18 multipliers plus an adder in one cycle; here the multiplier is a plain x*b
// (one DSP48E1 or one MULT18X18D, registered inputs and output), so the DSP count per pair is mul2's.
// x*a is a radix-4 partial-product sum without a `*` (no synthesis tool infers a multiplier for it): a's
// two-bit digits pick 0, x, 2x or 3x (the top digit, signed: 0, x, -2x or -x), so every partial-product bit
// is one 4:1 mux and needs no +1 correction. 3x and -x come in precomputed (x3, xn): x is shared by all the
// pairs of a linear layer, so the caller builds them once instead of one adder each per pair.
// Pipelined, LATENCY = 4 cycles from x, x3, xn, a, b to xa, xb, one carry chain or multiplier per stage, no
// enable (the caller's valid bits say which outputs count):
//   1. all inputs registered (on an ECP5 the place tool can put this copy beside its loads),
//   2. the four partial products of x*a; x and b copied again (the multiplier's input registers),
//   3. partial products summed in pairs; x*b (M register),
//   4. xa = both pair sums; xb copied (P register).
// Kept as its own module in synthesis (keep_hierarchy), like mul2: flattened, Yosys merges the stage-1 x
// registers of all the pairs into one, whose fanout then sets the clock.
`default_nettype none

(* keep_hierarchy *)
module mul2_split #(
    parameter integer X_BITS = 8,   // shared operand width (signed)
    parameter integer C_BITS = 8    // a, b width (signed), <= 8: a is taken as four radix-4 digits
) (
    input  wire                            clk,
    input  wire signed [X_BITS-1:0]        x,
    input  wire signed [X_BITS+1:0]        x3,   // 3 * x, same cycle as x
    input  wire signed [X_BITS:0]          xn,   // -x, same cycle as x
    input  wire signed [C_BITS-1:0]        a,
    input  wire signed [C_BITS-1:0]        b,
    output reg  signed [X_BITS+C_BITS-1:0] xa,
    output reg  signed [X_BITS+C_BITS-1:0] xb
);
    localparam integer P = X_BITS + C_BITS;  // product width
    localparam integer PW = X_BITS + 2;      // a partial product: |3x|, |-2x| < 2**(X_BITS+1)
    localparam integer SW = PW + 2;          // a pair sum pp_lo + 4*pp_hi: < 5 * 3 * 2**(X_BITS-1) < 2**(X_BITS+3)

    // ---- stage 1: inputs
    reg signed [X_BITS-1:0] x1;
    reg signed [PW-1:0] x31;
    reg signed [X_BITS:0] xn1;
    reg signed [C_BITS-1:0] a1, b1;
    always @(posedge clk) begin
        x1 <= x;
        x31 <= x3;
        xn1 <= xn;
        a1 <= a;
        b1 <= b;
    end
    wire [7:0] ad;  // a1 sign-extended to four digits
    generate
        if (C_BITS < 8) begin : a_ext
            assign ad = {{(8-C_BITS){a1[C_BITS-1]}}, a1};
        end else begin : a_full
            assign ad = a1;
        end
    endgenerate

    // ---- stage 2: partial products pp[i] = digit_i(a) * x, PW bits each, weight 4**i
    wire signed [PW-1:0] m1 = {{2{x1[X_BITS-1]}}, x1};            // x
    wire signed [PW-1:0] m2 = {x1[X_BITS-1], x1, 1'b0};           // 2x
    wire signed [PW-1:0] n1 = {xn1[X_BITS], xn1};                 // -x
    wire signed [PW-1:0] n2 = {xn1, 1'b0};                        // -2x
    reg signed [PW-1:0] pp0, pp1, pp2, pp3;
    reg signed [X_BITS-1:0] xr;
    reg signed [C_BITS-1:0] br;
    function [PW-1:0] pick;  // 0, x, 2x, 3x by an unsigned digit
        input [1:0] d;
        input [PW-1:0] v1, v2, v3;
        pick = d == 2'd0 ? {PW{1'b0}} : d == 2'd1 ? v1 : d == 2'd2 ? v2 : v3;
    endfunction
    always @(posedge clk) begin
        pp0 <= pick(ad[1:0], m1, m2, x31);
        pp1 <= pick(ad[3:2], m1, m2, x31);
        pp2 <= pick(ad[5:4], m1, m2, x31);
        pp3 <= pick(ad[7:6], m1, n2, n1);  // signed digit: 0, 1, -2, -1
        xr <= x1;
        br <= b1;
    end

    // ---- stage 3: pair sums (the low two bits of the lower product pass by the adder); x*b
    reg signed [SW-1:0] s0, s1;
    reg signed [P-1:0] p;
    always @(posedge clk) begin
        s0 <= {{{2{pp0[PW-1]}}, pp0[PW-1:2]} + pp1, pp0[1:0]};
        s1 <= {{{2{pp2[PW-1]}}, pp2[PW-1:2]} + pp3, pp2[1:0]};
        p <= xr * br;
    end

    // ---- stage 4: x*a = s0 + 16 * s1 (X_BITS + 8 bits: a as four digits), its low P bits exact; x*b registered
    wire [X_BITS+7:0] sum = {{{4{s0[SW-1]}}, s0[SW-1:4]} + s1, s0[3:0]};
    always @(posedge clk) begin
        xa <= sum[P-1:0];
        xb <= p;
    end
endmodule

`default_nettype wire

// mul2: the two products x*a and x*b of one shared signed operand x with ONE multiplier: (a * 2**S + b) * x,
// S = X_BITS + C_BITS, holds both products side by side (x*b in the low S bits, two's complement). The packed
// operand takes S + C_BITS + 1 bits (a = -2**(C_BITS-1) with b < 0 reaches below -2**(S+C_BITS-1)): 25 bits,
// one 25x18 DSP48E1, for int8 x, a, b. Two MAC lanes of a linear layer share x, so this halves the DSPs of
// every projection.
// Pipelined, LATENCY = 4 cycles from x, a, b to xa, xb, one carry chain or multiplier per stage, no enable
// (the caller's valid bits say which outputs count): 1. x and the packed operand (the DSP48E1's pre-adder and
// AD register), 2. both copied (A/B registers: on an ECP5 a register with the multiplier as its only load, so
// the placer can put it beside the multiplier), 3. the product (M register; on an ECP5 the two 18x18 partial
// products and their sum), 4. xa with the borrow of a negative x*b given back, and xb (P register).
// Kept as its own module in synthesis (keep_hierarchy): flattened, Yosys merges the x registers of all the
// pairs into one, whose fanout to every multiplier then sets the clock on an ECP5.
`default_nettype none

(* keep_hierarchy *)
module mul2 #(
    parameter integer X_BITS = 8,   // shared operand width (signed)
    parameter integer C_BITS = 8    // a, b width (signed)
) (
    input  wire                            clk,
    input  wire signed [X_BITS-1:0]        x,
    input  wire signed [C_BITS-1:0]        a,
    input  wire signed [C_BITS-1:0]        b,
    output reg  signed [X_BITS+C_BITS-1:0] xa,
    output reg  signed [X_BITS+C_BITS-1:0] xb
);
    localparam integer S = X_BITS + C_BITS;  // |x*b| < 2**(S-1): the low field never overflows

    reg signed [X_BITS-1:0] x1, xr;
    reg signed [S+C_BITS:0] ab1, ab;
    reg signed [2*S-1:0] p;  // the product modulo 2**(2S): both fields, no carry chain beyond them
    always @(posedge clk) begin
        x1 <= x;
        ab1 <= {a[C_BITS-1], a, {S{1'b0}}} + {{(S+1){b[C_BITS-1]}}, b};
        xr <= x1;
        ab <= ab1;
        p <= xr * ab;
        xb <= p[S-1:0];
        xa <= p[2*S-1:S] + {{(S-1){1'b0}}, p[S-1]};  // undo the borrow a negative x*b took from x*a
    end
endmodule

`default_nettype wire

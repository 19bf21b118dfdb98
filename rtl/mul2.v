// mul2: the two products x*a and x*b of one shared signed operand x with ONE multiplier: (a * 2**S + b) * x,
// S = X_BITS + C_BITS, holds both products side by side (x*b in the low S bits, two's complement). The packed
// operand takes S + C_BITS + 1 bits (a = -2**(C_BITS-1) with b < 0 reaches below -2**(S+C_BITS-1)): 25 bits,
// one 25x18 DSP48E1, for int8 x, a, b. Two MAC lanes of a linear layer share x, so this halves the DSPs of
// every projection.
`default_nettype none

module mul2 #(
    parameter integer X_BITS = 8,   // shared operand width (signed)
    parameter integer C_BITS = 8    // a, b width (signed)
) (
    input  wire signed [X_BITS-1:0]        x,
    input  wire signed [C_BITS-1:0]        a,
    input  wire signed [C_BITS-1:0]        b,
    output wire signed [X_BITS+C_BITS-1:0] xa,
    output wire signed [X_BITS+C_BITS-1:0] xb
);
    localparam integer S = X_BITS + C_BITS;  // |x*b| < 2**(S-1): the low field never overflows

    wire signed [S+C_BITS:0] ab = ($signed({a, {S{1'b0}}})) + b;
    wire signed [S+S+C_BITS:0] p = x * ab;
    assign xb = p[S-1:0];
    assign xa = p[2*S-1:S] + {{(S-1){1'b0}}, p[S-1]};  // undo the borrow a negative x*b took from x*a
endmodule

`default_nettype wire

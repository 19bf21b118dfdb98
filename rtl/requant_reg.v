// requant_reg: requant (round half to even, then saturate) with a register between the two carry chains:
// x is rounded onto the output grid into a register, y is that register saturated (combinational). So y is
// requant(x) of the previous cycle, and a pipelined kernel spends one chain per stage. Same arithmetic as
// requant.v, whose saturation it instantiates.
`default_nettype none

module requant_reg #(
    parameter integer IN_BITS = 32,     // input width (signed), > SHIFT
    parameter integer OUT_BITS = 8,     // output width
    parameter integer SHIFT = 0,        // right shift (>= 0)
    parameter integer OUT_MIN = -128,   // saturation bounds of the output format
    parameter integer OUT_MAX = 127
) (
    input  wire                      clk,
    input  wire signed [IN_BITS-1:0] x,
    output wire        [OUT_BITS-1:0] y
);
    localparam integer Q_BITS = IN_BITS - SHIFT + 1;  // kept bits plus the rounding carry

    reg signed [Q_BITS-1:0] q;  // x * 2**-SHIFT rounded half to even, no enable (the caller knows when)
    generate
        if (SHIFT == 0) begin : exact
            always @(posedge clk) q <= {x[IN_BITS-1], x};
        end else begin : round
            wire signed [Q_BITS-1:0] kept = {x[IN_BITS-1], x[IN_BITS-1:SHIFT]};  // floor
            wire above_half, up;
            if (SHIFT == 1) begin : one
                assign above_half = 1'b0;
            end else begin : more
                assign above_half = |x[SHIFT-2:0];
            end
            // dropped bits > half: up; == half: up when the kept value is odd (to even)
            assign up = x[SHIFT-1] && (above_half || kept[0]);
            always @(posedge clk) q <= kept + {{(Q_BITS-1){1'b0}}, up};
        end
    endgenerate

    requant #(.IN_BITS(Q_BITS), .OUT_BITS(OUT_BITS), .SHIFT(0), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX))
        saturate (.x(q), .y(y));
endmodule

`default_nettype wire

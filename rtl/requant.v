// requantize (golden_kernels.requantize): a wide signed value shifted right by SHIFT with round half to even,
// then saturated to [OUT_MIN, OUT_MAX]. Combinational; shared by every kernel that changes grids, so it is
// written for size: the rounding decision reads only the dropped bits and the kept LSB, one increment.
`default_nettype none

module requant #(
    parameter integer IN_BITS = 32,     // input width (signed), > SHIFT
    parameter integer OUT_BITS = 8,     // output width
    parameter integer SHIFT = 0,        // right shift (>= 0)
    parameter integer OUT_MIN = -128,   // saturation bounds of the output format
    parameter integer OUT_MAX = 127
) (
    input  wire signed [IN_BITS-1:0] x,
    output reg         [OUT_BITS-1:0] y
);
    localparam integer Q_BITS = IN_BITS - SHIFT + 1;  // kept bits plus the rounding carry

    wire signed [Q_BITS-1:0] q;  // x * 2**-SHIFT rounded half to even
    generate
        if (SHIFT == 0) begin : exact
            assign q = {x[IN_BITS-1], x};
        end else begin : round
            wire signed [Q_BITS-2:0] kept = x[IN_BITS-1:SHIFT];  // floor
            wire above_half, up;
            if (SHIFT == 1) begin : one
                assign above_half = 1'b0;
            end else begin : more
                assign above_half = |x[SHIFT-2:0];
            end
            // dropped bits > half: up; == half: up when the kept value is odd (to even)
            assign up = x[SHIFT-1] && (above_half || kept[0]);
            assign q = {kept[Q_BITS-2], kept} + {{(Q_BITS-1){1'b0}}, up};
        end
    endgenerate

    // q and the bounds (32-bit integers) compared at CW bits, each sign-extended
    localparam integer CW = Q_BITS > 32 ? Q_BITS : 32;
    wire signed [CW-1:0] qw, lo, hi;
    generate
        if (Q_BITS < 32) begin : widen_q
            assign qw = {{(32-Q_BITS){q[Q_BITS-1]}}, q};
            assign lo = OUT_MIN;
            assign hi = OUT_MAX;
        end else if (Q_BITS == 32) begin : same
            assign qw = q;
            assign lo = OUT_MIN;
            assign hi = OUT_MAX;
        end else begin : widen_bounds
            assign qw = q;
            assign lo = {{(Q_BITS-32){OUT_MIN[31]}}, OUT_MIN[31:0]};
            assign hi = {{(Q_BITS-32){OUT_MAX[31]}}, OUT_MAX[31:0]};
        end
    endgenerate

    always @* begin
        if (qw < lo) y = OUT_MIN[OUT_BITS-1:0];
        else if (qw > hi) y = OUT_MAX[OUT_BITS-1:0];
        else y = q[OUT_BITS-1:0];
    end
endmodule

`default_nettype wire

// requantize (golden_kernels.requantize): a wide signed value shifted right by SHIFT with round half to even,
// then saturated to [OUT_MIN, OUT_MAX]. Combinational; shared by every kernel that changes grids.
`default_nettype none

module requant #(
    parameter integer IN_BITS = 32,     // input width (signed)
    parameter integer OUT_BITS = 8,     // output width
    parameter integer SHIFT = 0,        // right shift (>= 0)
    parameter integer OUT_MIN = -128,   // saturation bounds of the output format
    parameter integer OUT_MAX = 127
) (
    input  wire signed [IN_BITS-1:0] x,
    output reg         [OUT_BITS-1:0] y
);
    reg signed [IN_BITS-1:0] q, r;
    always @* begin
        if (SHIFT == 0) begin
            q = x;
        end else begin
            q = x >>> SHIFT;
            r = x - (q <<< SHIFT);  // remainder in [0, 2**SHIFT)
            if (r > (1 << (SHIFT - 1)) || (r == (1 << (SHIFT - 1)) && q[0])) q = q + 1;
        end
        if (q < OUT_MIN) y = OUT_MIN[OUT_BITS-1:0];
        else if (q > OUT_MAX) y = OUT_MAX[OUT_BITS-1:0];
        else y = q[OUT_BITS-1:0];
    end
endmodule

`default_nettype wire

// mul1: one product x*w of signed operands, for a MAC lane of linear that has no pair (every depthwise lane,
// every lane where the plan keeps one multiplier per lane, an odd last lane). Pipelined as mul2, LATENCY = 4
// cycles from x, w to xw, no enable: 1. x and w registered, 2. copied (the multiplier's input registers: on an
// ECP5, where MULT18X18D is combinational in nextpnr, a register whose only load is this multiplier, so the
// placer can put it beside it), 3. the product (M register), 4. copied (P register).
// Kept as its own module in synthesis (keep_hierarchy), like mul2: flattened, Yosys merged the input registers
// of the lanes that share x into one, whose routes to every lane's multiplier (1.7 ns) set a whole top's clock
// (the tiny vit on the ECP5-85F, seed 2, attn_proj).
`default_nettype none

(* keep_hierarchy *)
module mul1 #(
    parameter integer X_BITS = 8,  // x width (signed)
    parameter integer W_BITS = 8   // w width (signed)
) (
    input  wire                            clk,
    input  wire signed [X_BITS-1:0]        x,
    input  wire signed [W_BITS-1:0]        w,
    output reg  signed [X_BITS+W_BITS-1:0] xw
);
    reg signed [X_BITS-1:0] x1, xr;
    reg signed [W_BITS-1:0] w1, wr;
    reg signed [X_BITS+W_BITS-1:0] p;
    always @(posedge clk) begin
        x1 <= x;
        w1 <= w;
        xr <= x1;
        wr <= w1;
        p <= xr * wr;
        xw <= p;
    end
endmodule

`default_nettype wire

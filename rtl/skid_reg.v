// skid_reg: a slice of an AXI-Stream output register and the skid register beside it (rtl/axis_gather.v). The
// stream's control (valid, skid full) stays with its owner; each slice derives its own load enables from it, so
// that one enable net drives one slice, not every bit: kept as its own module in synthesis (keep_hierarchy),
// as rtl/load_reg.v, so that Yosys does not merge the slices' identical enables back into one. The enables
// come from registers and the output's ready only: the skid register takes d whenever it is free and the
// output is stalled, and the owner's skid_valid says whether that was a beat.
`default_nettype none

(* keep_hierarchy *)
module skid_reg #(
    parameter integer WIDTH = 128   // bits held (> 0)
) (
    input  wire             clk,
    input  wire             out_valid,   // the output register holds a beat
    input  wire             out_ready,   // ... and it is taken this cycle
    input  wire             skid_valid,  // the skid register holds a beat
    input  wire [WIDTH-1:0] d,           // the beat that may move into the output stage this cycle
    output reg  [WIDTH-1:0] q            // the output register
);
    reg [WIDTH-1:0] skid;
    wire out_free = !out_valid || out_ready;
    always @(posedge clk) begin
        if (out_free) q <= skid_valid ? skid : d;
        else if (!skid_valid) skid <= d;  // whether d moved in or not: skid_valid (the owner's) says
    end
endmodule

`default_nettype wire

// load_reg: a register that loads d on the cycle after load_next was high, through a load flag of its own.
// A kernel that holds a wide input vector (rtl/linear.v: a token of up to thousands of bits) splits it into
// load_regs so that each enable net drives one slice, not every bit: a single enable fanning out to thousands
// of flip-flops costs more routing delay than a clock period allows on an ECP5.
// Kept as its own module in synthesis (keep_hierarchy): flattened, Yosys merges the identical load flags of
// all the slices back into one.
`default_nettype none

(* keep_hierarchy *)
module load_reg #(
    parameter integer WIDTH = 128   // bits held (> 0)
) (
    input  wire             clk,
    input  wire             load_next,  // load d in the next cycle
    input  wire [WIDTH-1:0] d,
    output reg  [WIDTH-1:0] q
);
    reg load;
    always @(posedge clk) begin
        load <= load_next;
        if (load) q <= d;
    end
endmodule

`default_nettype wire

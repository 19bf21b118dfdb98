// gather_slice: a slice of rtl/axis_gather.v's datapath: these bits of every way's buffer (distributed RAM read
// without a clock), the picked way's bits (an AND-OR over the ways with a one-hot select), the output register
// and the skid register beside it. The owner keeps the control (pointers for full/empty, whole images, which
// way, valid, skid full); each slice keeps its own copies of the write and read addresses, the write enables
// and the select, so that no address, enable or select net drives more than one slice: kept as its own module
// in synthesis (keep_hierarchy), as rtl/load_reg.v, so that Yosys does not merge the slices' identical
// registers back into one. A pushed beat is written a cycle later, from registers. The output enables come
// from registers and the output's ready only: the skid register takes the picked bits whenever it is free and
// the output is stalled, and the owner's skid_valid says whether that was a beat.
`default_nettype none

(* keep_hierarchy *)
module gather_slice #(
    parameter integer WIDTH = 128,   // bits of a beat in this slice (> 0)
    parameter integer WAYS = 2,      // ways (>= 2)
    parameter integer DEPTH = 16     // buffer entries per way, a power of two (>= 2)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [WAYS*WIDTH-1:0] d,           // way w's incoming bits in [w*WIDTH +: WIDTH]
    input  wire [WAYS-1:0]       push,        // way w's incoming beat is taken this cycle ...
    input  wire [WAYS*$clog2(DEPTH)-1:0] wr_addr,  // ... into this entry
    input  wire [WAYS-1:0]       pop,         // way w's oldest beat moves into the output stage this cycle
    input  wire [WAYS-1:0]       on_next,     // one-hot: the way picked from the next cycle on
    input  wire                  out_valid,   // the output register holds a beat
    input  wire                  out_ready,   // ... and it is taken this cycle
    input  wire                  skid_valid,  // the skid register holds a beat
    output reg  [WIDTH-1:0]      q            // the output register
);
    localparam integer A = $clog2(DEPTH);
    reg [WAYS-1:0] on;  // this slice's copy of the owner's select
    wire [WAYS*WIDTH-1:0] heads;  // way w's oldest beat
    genvar w;
    generate
        for (w = 0; w < WAYS; w = w + 1) begin : buffer
            reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg we;
            reg [A-1:0] wa, rd;
            reg [WIDTH-1:0] wd;
            always @(posedge clk) begin
                wa <= wr_addr[w*A +: A];
                wd <= d[w*WIDTH +: WIDTH];
                if (we) mem[wa] <= wd;
                if (rst) begin
                    we <= 1'b0;
                    rd <= 0;
                end else begin
                    we <= push[w];
                    if (pop[w]) rd <= rd + 1'b1;
                end
            end
            assign heads[w*WIDTH +: WIDTH] = mem[rd];
        end
    endgenerate
    reg [WIDTH-1:0] skid, picked;
    integer i;
    always @* begin
        picked = {WIDTH{1'b0}};
        for (i = 0; i < WAYS; i = i + 1) picked = picked | (heads[i*WIDTH +: WIDTH] & {WIDTH{on[i]}});
    end
    wire out_free = !out_valid || out_ready;
    always @(posedge clk) begin
        on <= rst ? {{(WAYS-1){1'b0}}, 1'b1} : on_next;
        if (out_free) q <= skid_valid ? skid : picked;
        else if (!skid_valid) skid <= picked;  // whether a beat moved in or not: skid_valid (the owner's) says
    end
endmodule

`default_nettype wire

// add_tree: the sum of N signed numbers in a balanced tree of two-input adders with a register behind every
// level, so a pipelined kernel spends one carry chain per stage. LATENCY = clog2(N) cycles. A level with an
// odd count passes its last value on, registered and sign-extended. Every level is one bit wider than the one
// below it, so nothing wraps. No enable: the caller's valid bits say which sums count (rtl/linear.v sums the
// SIMD products of a lane per cycle with it).
`default_nettype none

module add_tree #(
    parameter integer N = 4,         // addends (>= 2; a caller with one addend needs no tree)
    parameter integer IN_BITS = 16   // addend width (two's complement)
) (
    input  wire                           clk,
    input  wire [N*IN_BITS-1:0]           x,   // addend i in bits [i*IN_BITS +: IN_BITS]
    output wire [IN_BITS+$clog2(N)-1:0]   y    // the sum (two's complement)
);
    localparam integer LEVELS = $clog2(N);

    // level k (0: the addends) holds cnt(k) = ceil(N / 2**k) values of IN_BITS + k bits, packed from bit
    // off(k) of v
    function integer cnt(input integer lv);
        cnt = (N + (1 << lv) - 1) >> lv;
    endfunction
    function integer off(input integer lv);
        integer j;
        begin
            off = 0;
            for (j = 0; j < lv; j = j + 1) off = off + cnt(j) * (IN_BITS + j);
        end
    endfunction

    wire [off(LEVELS+1)-1:0] v;
    assign v[N*IN_BITS-1:0] = x;
    genvar k, i;
    generate
        for (k = 1; k <= LEVELS; k = k + 1) begin : level
            localparam integer WI = IN_BITS + k - 1;  // width of the values summed at this level
            for (i = 0; i < cnt(k); i = i + 1) begin : node
                wire [WI-1:0] a = v[off(k-1) + 2*i*WI +: WI];
                reg [WI:0] s;
                if (2*i + 1 < cnt(k-1)) begin : pair
                    wire [WI-1:0] b = v[off(k-1) + (2*i+1)*WI +: WI];
                    always @(posedge clk) s <= {a[WI-1], a} + {b[WI-1], b};
                end else begin : odd
                    always @(posedge clk) s <= {a[WI-1], a};
                end
                assign v[off(k) + i*(WI+1) +: WI+1] = s;
            end
        end
    endgenerate
    assign y = v[off(LEVELS) +: IN_BITS + LEVELS];
endmodule

`default_nettype wire

// residual_add kernel: two token streams joined beat by beat, a + b on the finer grid, rounded half to
// even onto the output grid and saturated (golden_kernels.residual_add). One token per cycle.
`default_nettype none

module residual_add #(
    parameter integer N = 8,           // elements per token (beat)
    parameter integer BITS = 8,        // input width (signed)
    parameter integer OUT_BITS = 8,    // output width
    parameter integer A_SHIFT = 0,     // left shift of a onto the common grid (max frac - a frac)
    parameter integer B_SHIFT = 0,     // left shift of b onto the common grid
    parameter integer SHIFT = 0,       // right shift from the common grid to the output grid (>= 0)
    parameter integer OUT_MIN = -128,  // saturation bounds of the output format
    parameter integer OUT_MAX = 127
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [N*BITS-1:0]     s_axis_a_tdata,
    input  wire                  s_axis_a_tvalid,
    output wire                  s_axis_a_tready,
    input  wire                  s_axis_a_tlast,
    input  wire [N*BITS-1:0]     s_axis_b_tdata,
    input  wire                  s_axis_b_tvalid,
    output wire                  s_axis_b_tready,
    output reg  [N*OUT_BITS-1:0] m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam integer W = BITS + (A_SHIFT > B_SHIFT ? A_SHIFT : B_SHIFT) + 1;  // aligned sum, no overflow

    wire take = s_axis_a_tvalid && s_axis_b_tvalid && (!m_axis_tvalid || m_axis_tready);
    assign s_axis_a_tready = take;
    assign s_axis_b_tready = take;

    // per element: both operands on the common grid, summed, requantized
    wire [N*OUT_BITS-1:0] sum_out;
    genvar g;
    generate
        for (g = 0; g < N; g = g + 1) begin : element
            wire [BITS-1:0] a = s_axis_a_tdata[g*BITS +: BITS];
            wire [BITS-1:0] b = s_axis_b_tdata[g*BITS +: BITS];
            wire signed [W-1:0] ae = {{(W-BITS){a[BITS-1]}}, a};  // sign-extended to the sum's width
            wire signed [W-1:0] be = {{(W-BITS){b[BITS-1]}}, b};
            wire signed [W-1:0] sum = (ae <<< A_SHIFT) + (be <<< B_SHIFT);
            requant #(.IN_BITS(W), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX))
                rq (.x(sum), .y(sum_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (take) begin
                m_axis_tvalid <= 1'b1;
                m_axis_tlast <= s_axis_a_tlast;
                m_axis_tdata <= sum_out;
            end
        end
    end
endmodule

`default_nettype wire

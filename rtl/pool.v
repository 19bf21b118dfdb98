// pool kernel: mean over an image's tokens (a power-of-two count) per element: sums the beats of a frame
// and, on TLAST, keeps the sum in a register; from there it is requantized into the output register (so
// the accumulate and the rounding are separate carry chains, one per cycle) (golden_kernels.pool). One
// token per cycle; the next frame's sum may start while this one's mean waits for the sink.
`default_nettype none

module pool #(
    parameter integer N = 8,           // elements per token (beat)
    parameter integer BITS = 8,        // input element width
    parameter integer IN_SIGNED = 1,   // 1: two's complement input, 0: unsigned
    parameter integer ACC_BITS = 16,   // sum width: BITS + log2(tokens) + 1
    parameter integer OUT_BITS = 8,    // output element width
    parameter integer SHIFT = 0,       // in_frac + log2(tokens) - out_frac (>= 0)
    parameter integer OUT_MIN = -128,  // saturation bounds of the output format
    parameter integer OUT_MAX = 127
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [N*BITS-1:0]     s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    input  wire                  s_axis_tlast,
    output reg  [N*OUT_BITS-1:0] m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    reg full;                           // sum holds a frame's total that waits for the output register
    wire out_free = !m_axis_tvalid || m_axis_tready;
    assign s_axis_tready = !full || out_free;
    wire take = s_axis_tvalid && s_axis_tready;

    reg  [N*ACC_BITS-1:0] acc, sum;
    wire [N*ACC_BITS-1:0] acc_next;
    wire [N*OUT_BITS-1:0] mean;
    genvar g;
    generate
        for (g = 0; g < N; g = g + 1) begin : element
            wire [BITS-1:0] x = s_axis_tdata[g*BITS +: BITS];
            wire xs = IN_SIGNED != 0 && x[BITS-1];  // the sign (extension) bit
            assign acc_next[g*ACC_BITS +: ACC_BITS] = acc[g*ACC_BITS +: ACC_BITS] + {{(ACC_BITS-BITS){xs}}, x};
            requant #(.IN_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX))
                rq (.x(sum[g*ACC_BITS +: ACC_BITS]), .y(mean[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            acc <= 0;
            sum <= 0;
            full <= 1'b0;
            m_axis_tdata <= 0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (m_axis_tready) m_axis_tvalid <= 1'b0;
            if (full && out_free) begin  // the mean to the output register
                m_axis_tdata <= mean;
                m_axis_tvalid <= 1'b1;
                m_axis_tlast <= 1'b1;
                full <= 1'b0;
            end
            if (take) begin
                acc <= s_axis_tlast ? {N*ACC_BITS{1'b0}} : acc_next;
                if (s_axis_tlast) begin
                    sum <= acc_next;
                    full <= 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire

// concat kernel: two token streams of one image each, joined beat by beat into one token: a's elements,
// then b's (golden_kernels.concat along the channels; channels-last tokens put a's channels in the low
// bits). One token per cycle; the frame (TLAST) is a's, b follows it.
`default_nettype none

module concat #(
    parameter integer A_WIDTH = 8,  // bits per token of a (elements x element width)
    parameter integer B_WIDTH = 8   // bits per token of b
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire [A_WIDTH-1:0]         s_axis_a_tdata,
    input  wire                       s_axis_a_tvalid,
    output wire                       s_axis_a_tready,
    input  wire                       s_axis_a_tlast,
    input  wire [B_WIDTH-1:0]         s_axis_b_tdata,
    input  wire                       s_axis_b_tvalid,
    output wire                       s_axis_b_tready,
    output reg  [A_WIDTH+B_WIDTH-1:0] m_axis_tdata,
    output reg                        m_axis_tvalid,
    input  wire                       m_axis_tready,
    output reg                        m_axis_tlast
);
    wire take = s_axis_a_tvalid && s_axis_b_tvalid && (!m_axis_tvalid || m_axis_tready);
    assign s_axis_a_tready = take;
    assign s_axis_b_tready = take;

    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) m_axis_tvalid <= 1'b0;
            if (take) begin
                m_axis_tvalid <= 1'b1;
                m_axis_tlast <= s_axis_a_tlast;
            end
        end
    end
    always @(posedge clk) if (take) m_axis_tdata <= {s_axis_b_tdata, s_axis_a_tdata};
endmodule

`default_nettype wire

// axis_fifo: first-word-fall-through AXI-Stream FIFO (tdata + tlast) of DEPTH entries plus an output
// register. Holds the skip path of a residual connection while the other branch (attention needs a whole
// image before its first token) catches up. The memory has one synchronous read port, so it maps to
// block or distributed RAM.
`default_nettype none

module axis_fifo #(
    parameter integer WIDTH = 8,   // tdata bits
    parameter integer DEPTH = 16   // entries in the memory, a power of two (>= 2)
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    input  wire             s_axis_tlast,
    output reg  [WIDTH-1:0] m_axis_tdata,
    output reg              m_axis_tvalid,
    input  wire             m_axis_tready,
    output reg              m_axis_tlast
);
    localparam integer A = $clog2(DEPTH);

    reg [WIDTH:0] mem [0:DEPTH-1];  // {tlast, tdata}
    reg [A:0] wr_ptr, rd_ptr;       // one extra bit tells full from empty

    wire empty = wr_ptr == rd_ptr;
    wire full = wr_ptr == {~rd_ptr[A], rd_ptr[A-1:0]};
    assign s_axis_tready = !full;
    wire push = s_axis_tvalid && !full;
    wire pop = !empty && (!m_axis_tvalid || m_axis_tready);  // refill the output register

    always @(posedge clk) begin
        if (push) mem[wr_ptr[A-1:0]] <= {s_axis_tlast, s_axis_tdata};
        if (pop) {m_axis_tlast, m_axis_tdata} <= mem[rd_ptr[A-1:0]];
    end

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr <= 0;
            rd_ptr <= 0;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (push) wr_ptr <= wr_ptr + 1'b1;
            if (pop) begin
                rd_ptr <= rd_ptr + 1'b1;
                m_axis_tvalid <= 1'b1;
            end else if (m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire

// axis_register: AXI-Stream register slice with a skid buffer (tdata + tlast), put between independently timed
// kernels so that no combinational path crosses from one to the next: s_axis_tready, m_axis_tvalid,
// m_axis_tdata and m_axis_tlast are all flip-flop outputs. One cycle of latency, one beat per cycle.
// The output register holds the beat on offer; s_axis_tready is registered, so it can only fall one cycle after
// the output stalls, and the beat accepted in that cycle waits in the skid register (ready = skid empty).
// Only the two state bits are reset; the data registers need none (each output bit is a 2:1 mux + enable).
`default_nettype none

module axis_register #(
    parameter integer WIDTH = 8  // tdata bits
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output reg              s_axis_tready,  // also "skid register empty"
    input  wire             s_axis_tlast,
    output reg  [WIDTH-1:0] m_axis_tdata,
    output reg              m_axis_tvalid,
    input  wire             m_axis_tready,
    output reg              m_axis_tlast
);
    reg [WIDTH-1:0] skid_tdata;
    reg             skid_tlast;

    // the output register takes a new beat (from the skid register if it holds one, else from the input)
    wire advance = m_axis_tready || !m_axis_tvalid;

    always @(posedge clk) begin
        // the skid register follows the input while empty: a beat accepted while the output stalls stays there
        if (s_axis_tready) {skid_tlast, skid_tdata} <= {s_axis_tlast, s_axis_tdata};
        if (advance) {m_axis_tlast, m_axis_tdata} <= s_axis_tready ? {s_axis_tlast, s_axis_tdata}
                                                                   : {skid_tlast, skid_tdata};
    end

    always @(posedge clk) begin
        if (rst) begin
            s_axis_tready <= 1'b1;
            m_axis_tvalid <= 1'b0;
        end else begin
            if (advance) m_axis_tvalid <= !s_axis_tready || s_axis_tvalid;
            // empty after the output takes the skid beat; full once it takes a beat the output cannot
            s_axis_tready <= advance || (s_axis_tready && !s_axis_tvalid);
        end
    end
endmodule

`default_nettype wire

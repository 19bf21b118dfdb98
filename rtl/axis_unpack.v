// axis_unpack: a beat of WORDS words becomes WORDS beats of one word (e.g. the logits vector to a 32-bit
// DMA stream), word 0 first; TLAST on the last word of a beat that carried TLAST. The beat shifts down a word
// per transfer, so the output is the register's low word: no WORDS-way multiplexer between the word count and
// the output (in the whole top it was the path that set the clock, 139.6 MHz, its select fanned out to 32 mux
// trees beside the output port). The output goes through a register slice (axis_register, one cycle): the
// port's ready then reaches its two state bits only, not the enable of the WORDS*WORD-bit shift register (in the
// tiny vit's whole top, seed 3, that enable was 5.8 ns of route from the output port's ready, 144.6 MHz).
`default_nettype none

module axis_unpack #(
    parameter integer WORD = 32,   // bits per output beat
    parameter integer WORDS = 4    // words per input beat
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [WORDS*WORD-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    input  wire                  s_axis_tlast,
    output wire [WORD-1:0]       m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,
    output wire                  m_axis_tlast
);
    reg [WORDS*WORD-1:0] data;
    reg last, full;
    localparam integer WB = WORDS > 1 ? $clog2(WORDS) : 1;  // word index bits
    localparam [WB-1:0] LAST = WORDS[WB-1:0] - 1'b1;
    reg [WB-1:0] word;  // the word on the output; back to 0 after the last
    wire final_word = word == LAST;

    wire out_ready;  // the slice's (a flip-flop)
    assign s_axis_tready = !full;
    axis_register #(.WIDTH(WORD)) out_slice (
        .clk(clk), .rst(rst),
        .s_axis_tdata(data[WORD-1:0]), .s_axis_tvalid(full), .s_axis_tready(out_ready),
        .s_axis_tlast(last && final_word),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast));

    always @(posedge clk) begin
        if (rst) begin
            full <= 1'b0;
            word <= 0;
        end else if (!full) begin
            if (s_axis_tvalid) begin
                data <= s_axis_tdata;
                last <= s_axis_tlast;
                full <= 1'b1;
                word <= 0;
            end
        end else if (out_ready) begin
            data <= data >> WORD;
            word <= final_word ? {WB{1'b0}} : word + 1'b1;
            if (final_word) full <= 1'b0;
        end
    end
endmodule

`default_nettype wire

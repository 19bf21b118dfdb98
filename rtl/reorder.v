// reorder kernel: a fixed permutation of an image's tokens, for golden's unfold, fold, window_partition and
// window_reverse (the Swin cyclic shift included): TOKENS tokens of WIDTH bits in, the same tokens out,
// output token r being input token order[r], from the ORDER ROM that rtl/gen.py derives by running the golden
// op on token indices. Two banks of TOKENS tokens (ping-pong): one image loads while the previous one drains,
// one token per cycle each way. The input is framed by counting (TOKENS per image, so it has no TLAST); TLAST
// marks the last token out. Read pipeline: ORDER ROM -> address register -> memory read into the output
// register; both stages move together when the output register is free (empty or being taken).
`default_nettype none

module reorder #(
    parameter integer TOKENS = 16,      // tokens per image (>= 2)
    parameter integer WIDTH = 8,        // bits per token
    parameter ORDER_FILE = "order.hex"  // TOKENS hex words: output token r is input token order[r]
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output reg  [WIDTH-1:0] m_axis_tdata,
    output reg              m_axis_tvalid,
    input  wire             m_axis_tready,
    output reg              m_axis_tlast
);
    localparam integer A = $clog2(TOKENS);           // token index bits
    localparam integer LAST = TOKENS - 1;         // as an A-bit part-select below

    reg [A-1:0] order [0:TOKENS-1];
    initial $readmemh(ORDER_FILE, order);
    // bank b, token t at address {b, t}: a power-of-two bank stride needs no adder in the read address
    reg [WIDTH-1:0] mem [0:(2 << A) - 1];

    // ---- write side: fill the bank the reader does not hold
    reg [1:0] full;                                  // bank b holds a whole image not yet read out
    reg wr_bank;
    reg [A-1:0] wr_tok;
    assign s_axis_tready = !full[wr_bank];
    wire push = s_axis_tvalid && s_axis_tready;
    always @(posedge clk) if (push) mem[{wr_bank, wr_tok}] <= s_axis_tdata;

    // ---- read side: rd_tok -> (ROM) rd_addr -> (memory) m_axis_tdata
    wire advance = !m_axis_tvalid || m_axis_tready;  // the output register can take the next token
    reg rd_bank;
    reg [A-1:0] rd_tok;
    wire issue = advance && full[rd_bank];
    reg [A:0] rd_addr;                               // {bank, input token} of the token in flight
    reg rd_valid, rd_last;

    always @(posedge clk) if (advance && rd_valid) m_axis_tdata <= mem[rd_addr];

    always @(posedge clk) begin
        if (rst) begin
            full <= 2'b00;
            wr_bank <= 1'b0;
            wr_tok <= 0;
            rd_bank <= 1'b0;
            rd_tok <= 0;
            rd_addr <= 0;
            rd_valid <= 1'b0;
            rd_last <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (push) begin
                wr_tok <= wr_tok == LAST[A-1:0] ? {A{1'b0}} : wr_tok + 1'b1;
                if (wr_tok == LAST[A-1:0]) begin
                    full[wr_bank] <= 1'b1;
                    wr_bank <= !wr_bank;
                end
            end
            if (advance) begin
                rd_valid <= issue;
                rd_last <= rd_tok == LAST[A-1:0];
                rd_addr <= {rd_bank, order[rd_tok]};
                m_axis_tvalid <= rd_valid;
                m_axis_tlast <= rd_last;
                // the bank's last token leaves the memory now: the writer may refill it (set and clear never
                // meet on one bank: the writer only fills a bank that is not full)
                if (rd_valid && rd_last) full[rd_addr[A]] <= 1'b0;
            end
            if (issue) begin
                rd_tok <= rd_tok == LAST[A-1:0] ? {A{1'b0}} : rd_tok + 1'b1;
                if (rd_tok == LAST[A-1:0]) rd_bank <= !rd_bank;
            end
        end
    end
endmodule

`default_nettype wire

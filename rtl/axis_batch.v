// axis_batch: turns a DMA transfer of BATCH images (TLAST only on the transfer's last beat, as the Xilinx AXI
// DMA sends in simple mode) into one frame per image for patch_embed, by adding TLAST on the last beat of every
// image but the batch's last; that one keeps the transfer's own TLAST, so patch_embed's frame check still drops
// a batch that ends early or late. A TLAST anywhere restarts the count (the next beat begins a new batch).
// Its output is a register slice (axis_register: one cycle of latency), the transfer's TLAST carried beside the
// beat as m_axis_batch_end, so accel_ctrl pairs it with patch_embed's frame end in the same cycle: every output
// and s_axis_tready are flip-flops. The pixel input was the slowest path of the whole top placed and routed
// three times (a compare in the TLAST path, then the pass-through's TLAST logic, 2.0-3.5 ns of route into
// patch_embed's frame control wherever the two were placed apart).
`default_nettype none

module axis_batch #(
    parameter integer WIDTH = 32,        // tdata bits
    parameter integer IMAGE_BEATS = 16,  // beats per image (>= 1)
    parameter integer BATCH_BITS = 16    // width of the batch size input
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [BATCH_BITS-1:0] batch,         // images per transfer (0 counts as 1); change only when idle
    input  wire [WIDTH-1:0]      s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    input  wire                  s_axis_tlast,
    output wire [WIDTH-1:0]      m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready,
    output wire                  m_axis_tlast,
    output wire                  m_axis_batch_end  // with the beat: it was its transfer's last (s_axis_tlast)
);
    localparam integer BB = IMAGE_BEATS > 1 ? $clog2(IMAGE_BEATS) : 1;  // beat index bits

    reg [BB-1:0] beat;               // beat of the current image
    reg [BATCH_BITS-1:0] image;      // image of the current batch
    reg batch_last;                  // the current image is the batch's last (batch 0 or 1: every image)
    reg image_end;                   // the current beat is the image's last (beat == IMAGE_BEATS - 1)
    localparam [0:0] ONE_BEAT = IMAGE_BEATS == 1;
    localparam integer PRE_LAST = IMAGE_BEATS > 1 ? IMAGE_BEATS - 2 : 0;  // the beat before the last
    wire [BATCH_BITS:0] next_image = {1'b0, image} + {{(BATCH_BITS-1){1'b0}}, 2'd2};  // one past the next image
    wire single = batch <= {{(BATCH_BITS-1){1'b0}}, 1'b1};  // a batch of one image

    axis_register #(.WIDTH(WIDTH + 1)) out_slice (
        .clk(clk), .rst(rst),
        .s_axis_tdata({s_axis_tlast, s_axis_tdata}), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast || (image_end && !batch_last)),
        .m_axis_tdata({m_axis_batch_end, m_axis_tdata}), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast));

    always @(posedge clk) begin
        if (rst) begin
            beat <= {BB{1'b0}};
            image_end <= ONE_BEAT;
            image <= {BATCH_BITS{1'b0}};
            batch_last <= single;
        end else if (s_axis_tvalid && s_axis_tready) begin
            if (s_axis_tlast || (image_end && batch_last)) begin  // a new batch begins
                beat <= {BB{1'b0}};
                image_end <= ONE_BEAT;
                image <= {BATCH_BITS{1'b0}};
                batch_last <= single;
            end else if (image_end) begin
                beat <= {BB{1'b0}};
                image_end <= ONE_BEAT;
                image <= image + 1'b1;
                batch_last <= next_image >= {1'b0, batch};
            end else begin
                beat <= beat + 1'b1;
                image_end <= beat == PRE_LAST[BB-1:0];
            end
        end else if (image == {BATCH_BITS{1'b0}} && beat == {BB{1'b0}}) begin
            batch_last <= single;  // between batches it follows the BATCH register (written while idle)
        end
    end
endmodule

`default_nettype wire

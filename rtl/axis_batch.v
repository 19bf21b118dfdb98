// axis_batch: turns a DMA transfer of BATCH images (TLAST only on the transfer's last beat, as the Xilinx AXI
// DMA sends in simple mode) into one frame per image for patch_embed, by adding TLAST on the last beat of every
// image but the batch's last; that one keeps the transfer's own TLAST, so patch_embed's frame check still drops
// a batch that ends early or late. A TLAST anywhere restarts the count (the next beat begins a new batch).
// Pass-through: no register on the data path (accel_ctrl pairs the transfer's TLAST with patch_embed's frame
// end in the same cycle); whether the current image is the batch's last, and whether the current beat is its
// image's last, are flip-flops: a 16-bit compare in the TLAST path was the slowest path of a whole top placed
// and routed (into patch_embed's frame logic), and then the beat compare was (the tiny vit, 137.6 MHz).
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
    output wire                  m_axis_tlast
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

    assign m_axis_tdata = s_axis_tdata;
    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;
    assign m_axis_tlast = s_axis_tlast || (image_end && !batch_last);

    always @(posedge clk) begin
        if (rst) begin
            beat <= {BB{1'b0}};
            image_end <= ONE_BEAT;
            image <= {BATCH_BITS{1'b0}};
            batch_last <= single;
        end else if (s_axis_tvalid && m_axis_tready) begin
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

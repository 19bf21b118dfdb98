// axis_gather: the outputs of WAYS copies of a kernel joined back into one AXI-Stream, image n (TOKENS beats)
// from way n mod WAYS: the order rtl/axis_deal.v dealt them in. Each way is buffered (DEPTH >= TOKENS beats)
// and an image leaves only once it is whole (store and forward): a copy works at its own pace, and the next
// kernel gets the image back to back instead of at that pace, so that its own copies are not held for an
// image's whole duration by a slow producer. The ways' oldest beats go straight into the output stage: an
// output register and a skid register beside it, so that nothing wide hangs off m_axis_tready. The wide part
// (buffers, select, output) is in slices of 128 bits (rtl/gather_slice.v), each with its own copies of the
// addresses, enables and select; this module keeps the control.
// Images are counted in beats; TLAST passes with its beat. Valid never depends on ready.
`default_nettype none

module axis_gather #(
    parameter integer WIDTH = 8,    // tdata bits
    parameter integer WAYS = 2,     // copies (>= 2)
    parameter integer TOKENS = 16,  // beats per image on this stream (>= 1)
    parameter integer DEPTH = 16    // buffer entries per way, a power of two >= TOKENS (and >= 2)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [WAYS*WIDTH-1:0] s_axis_tdata,   // way w's beat in bits [w*WIDTH +: WIDTH]
    input  wire [WAYS-1:0]       s_axis_tvalid,
    output wire [WAYS-1:0]       s_axis_tready,
    input  wire [WAYS-1:0]       s_axis_tlast,
    output reg  [WIDTH-1:0]      m_axis_tdata,
    output reg                   m_axis_tvalid,
    input  wire                  m_axis_tready,
    output reg                   m_axis_tlast
);
    localparam integer TB = TOKENS > 1 ? $clog2(TOKENS) : 1;
    localparam integer CW = $clog2(DEPTH + 3);  // whole images held by a way: <= (DEPTH + 1) / TOKENS + 1
    localparam integer T1 = TOKENS - 1;
    localparam [TB-1:0] T_LAST = T1[TB-1:0];
    reg [WAYS-1:0] on; // one-hot: the copy whose image is next
    reg [TB-1:0] beat; // beats of that image already passed on
    localparam integer A = $clog2(DEPTH);
    localparam integer SW = 128;      // bits of a beat per datapath slice (gather_slice)
    wire [WAYS-1:0] whole;            // way w holds a whole image not yet passed on
    wire [WIDTH:0] out_beat;          // {tlast, tdata} of the output register
    reg skid_tvalid;  // a beat picked while the output register was full and not taken waits in the slices
    // the next beat moves into the output stage: the output stage has room (a register), and the image has
    // begun (its other beats are buffered) or is whole
    wire pick = !skid_tvalid && (beat != 0 || |(whole & on));
    wire image_end = pick && beat == T_LAST;
    wire [WAYS-1:0] on_next = image_end ? {on[WAYS-2:0], on[WAYS-1]} : on;

    genvar w, s;
    wire [WAYS*A-1:0] wr_addr;  // way w's next entry
    wire [WAYS-1:0] push, pop;
    wire [WAYS*(WIDTH+1)-1:0] beats_in;  // way w's incoming {tlast, tdata}
    generate
        for (w = 0; w < WAYS; w = w + 1) begin : in
            reg [A:0] wr_ptr, rd_ptr;       // one extra bit tells full from empty
            reg [TB-1:0] in_beat;           // beats of the image being buffered
            reg [CW-1:0] images;            // images whose last beat is buffered and not yet passed on
            reg end_q;                      // an image's last beat was taken (written this cycle)
            reg whole_q;                    // images != 0, a register: it starts the pick logic
            wire full = wr_ptr == {~rd_ptr[A], rd_ptr[A-1:0]};
            wire in_end = push[w] && in_beat == T_LAST;
            wire out_end = image_end && on[w];
            wire [CW-1:0] images_n = end_q == out_end ? images : end_q ? images + 1'b1 : images - 1'b1;
            assign push[w] = s_axis_tvalid[w] && !full;
            assign pop[w] = pick && on[w];
            assign s_axis_tready[w] = !full;
            assign wr_addr[w*A +: A] = wr_ptr[A-1:0];
            assign beats_in[w*(WIDTH+1) +: WIDTH+1] = {s_axis_tlast[w], s_axis_tdata[w*WIDTH +: WIDTH]};
            always @(posedge clk) begin
                if (rst) begin
                    wr_ptr <= 0;
                    rd_ptr <= 0;
                    in_beat <= 0;
                    images <= 0;
                    whole_q <= 1'b0;
                    end_q <= 1'b0;
                end else begin
                    end_q <= in_end;  // the image counts as whole once its last beat is written
                    if (push[w]) begin
                        wr_ptr <= wr_ptr + 1'b1;
                        in_beat <= in_end ? {TB{1'b0}} : in_beat + 1'b1;
                    end
                    if (pop[w]) rd_ptr <= rd_ptr + 1'b1;
                    images <= images_n;
                    whole_q <= images_n != 0;
                end
            end
            assign whole[w] = whole_q;
        end

        // the datapath in slices of SW bits of a beat ({tlast, tdata}): buffers, select, output and skid
        for (s = 0; s < WIDTH + 1; s = s + SW) begin : out
            localparam integer BITS = WIDTH + 1 - s < SW ? WIDTH + 1 - s : SW;
            wire [WAYS*BITS-1:0] d;
            for (w = 0; w < WAYS; w = w + 1) begin : way
                assign d[w*BITS +: BITS] = beats_in[w*(WIDTH+1) + s +: BITS];
            end
            gather_slice #(.WIDTH(BITS), .WAYS(WAYS), .DEPTH(DEPTH)) slice (.clk(clk), .rst(rst), .d(d),
                .push(push), .wr_addr(wr_addr), .pop(pop), .on_next(on_next), .out_valid(m_axis_tvalid),
                .out_ready(m_axis_tready), .skid_valid(skid_tvalid), .q(out_beat[s +: BITS]));
        end
    endgenerate
    always @* {m_axis_tlast, m_axis_tdata} = out_beat;
    wire out_free = !m_axis_tvalid || m_axis_tready;  // the output register may load this cycle
    always @(posedge clk) begin
        if (rst) begin
            on <= 1;
            beat <= 0;
            m_axis_tvalid <= 1'b0;
            skid_tvalid <= 1'b0;
        end else begin
            if (out_free) begin
                m_axis_tvalid <= skid_tvalid || pick;
                skid_tvalid <= 1'b0;
            end else if (pick) begin
                skid_tvalid <= 1'b1;
            end
            if (pick) beat <= beat == T_LAST ? {TB{1'b0}} : beat + 1'b1;
            on <= on_next;
        end
    end
endmodule

`default_nettype wire

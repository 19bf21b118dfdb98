// accel_ctrl: the AXI-Lite control/status registers of an accelerator top (vit_accel). Register map
// (byte offsets; host/ and the testbenches read the same map from rtl/gen.py CTRL_REGS):
//   0x00 CTRL          bit0 RUN: accept pixels; bit1 CLEAR (write 1): zero counters, errors, DONE;
//                      bit2 RESET (write 1): reset the datapath, dropping every image in flight (counters kept)
//   0x04 STATUS        bit0 IDLE: no frame in flight; bit1 DONE: a result left since last cleared (W1C)
//   0x08 ERRORS        bit0 FRAME: a frame had TLAST misplaced and was dropped (sticky, W1C)
//   0x0C FRAMES_IN     well-formed frames accepted      0x10 FRAMES_OUT  result frames sent
//   0x14 FRAMES_DROPPED                                  0x18 CYCLES      clock cycles since CLEAR
//   0x1C BUSY_CYCLES   cycles with a frame in flight     0x20 LATENCY     first pixel to last result
//                                                                         beat, of the last frame that
//                                                                         entered an idle accelerator
//   0x24 IMAGE_BYTES, 0x28 RESULT_WORDS: the model the bitstream was built for (read-only)
//   0x2C BATCH         images per input transfer (TLAST on its last beat only; 0 and 1: every image framed);
//                      the result of a transfer's last image carries TLAST (one output transfer per batch)
//   0x30 MODEL_ID      identity of the model file the bitstream was generated from (read-only)
`default_nettype none

module accel_ctrl #(
    parameter integer IMAGE_BYTES = 64,
    parameter integer RESULT_WORDS = 10,
    parameter [31:0] MODEL_ID = 32'h0,   // quant.model_file.model_identity of the model file
    parameter integer FLAG_DEPTH = 32    // images in flight at most (a power of two): batch-end flags kept
) (
    input  wire        clk,
    input  wire        rst,
    // AXI-Lite slave (32-bit data)
    input  wire [7:0]  s_axil_awaddr,
    input  wire        s_axil_awvalid,
    output wire        s_axil_awready,
    input  wire [31:0] s_axil_wdata,
    input  wire [3:0]  s_axil_wstrb,
    input  wire        s_axil_wvalid,
    output wire        s_axil_wready,
    output wire [1:0]  s_axil_bresp,
    output reg         s_axil_bvalid,
    input  wire        s_axil_bready,
    input  wire [7:0]  s_axil_araddr,
    input  wire        s_axil_arvalid,
    output wire        s_axil_arready,
    output reg  [31:0] s_axil_rdata,
    output wire [1:0]  s_axil_rresp,
    output reg         s_axil_rvalid,
    input  wire        s_axil_rready,
    // to and from the datapath
    output wire        run,           // accept pixels: RUN, and room for the image's batch-end flag
    output reg         datapath_rst,  // rst (a cycle late), or CTRL.RESET written (two cycles late): registered
    output reg  [15:0] batch,         // BATCH register
    input  wire        frame_batch_end,  // with frame_ok: the frame's last beat was its transfer's last (TLAST)
    output wire        result_last,   // the result going out ends its batch (its frame ended a transfer)
    input  wire        frame_begin,   // first beat of an input frame accepted
    input  wire        frame_ok,      // a well-formed frame entered
    input  wire        frame_error,   // a malformed frame was dropped
    input  wire        result_done    // the last beat of a result left
);
    reg [31:0] frames_in, frames_out, frames_dropped, cycles, busy_cycles, latency, lat_start;
    reg [15:0] in_flight;
    reg mid_frame, done, err_frame, timing, run_bit;

    // batch-end flag of every image in flight, in order: written at frame_ok, read while its result leaves
    localparam integer FB = $clog2(FLAG_DEPTH);
    reg [FLAG_DEPTH-1:0] flags;
    reg [FB-1:0] flag_wr, flag_rd;
    assign result_last = flags[flag_rd];
    // The frame pulses counted one cycle late: patch_embed's input handshake ends in these registers, not in the
    // count's carry chain across the device (the tiny vit's whole top, 138.0 MHz: s_axis_tvalid through
    // patch_embed's frame_ok into in_flight). Like result_done_q below; LATENCY is the difference of two equally
    // late cycles.
    reg frame_begin_q, frame_ok_q, frame_error_q, frame_batch_end_q;
    always @(posedge clk) begin
        frame_begin_q <= frame_begin && !datapath_rst;
        frame_ok_q <= frame_ok && !datapath_rst;
        frame_error_q <= frame_error && !datapath_rst;
        frame_batch_end_q <= frame_batch_end;
    end

    // RUN and room for one more image, decided a cycle ahead: the count's compare ends in a register, not in
    // patch_embed's input ready and frame control (the tiny vit's whole top, 129.5 MHz: in_flight's carry chain
    // into patch_embed). in_flight may then miss three frames at most (the one ending now, the one in frame_ok_q,
    // the one being added), hence the margin of three below FLAG_DEPTH.
    localparam [15:0] ROOM = FLAG_DEPTH[15:0] - 16'd3;
    reg run_q;
    assign run = run_q;
    always @(posedge clk) run_q <= !datapath_rst && run_bit && in_flight < ROOM;

    wire idle = in_flight == 0 && !mid_frame;

    // a result's last beat counted one cycle late: the output handshake (the DMA's ready, the unpacker's word
    // count) then ends in this register, not in the counters' carry chains across the device (the tiny vit's
    // whole top, 130.4 MHz). The flag it advances is next read at the following result's last beat, WORDS >= 2
    // cycles on.
    reg result_done_q;
    always @(posedge clk) result_done_q <= result_done && !datapath_rst;

    // write channel: address and data may come in either order; respond once both are here
    reg [7:0] awaddr;
    reg aw_full, w_full;
    reg [31:0] wdata;
    // registers are written whole and word-aligned; CTRL and ERRORS use the low data bits only
    wire unused_axil = &{1'b0, s_axil_wstrb, s_axil_araddr[1:0], awaddr[1:0], wdata[31:2]};
    assign s_axil_awready = !aw_full;
    assign s_axil_wready = !w_full;
    assign s_axil_bresp = 2'b00;
    assign s_axil_rresp = 2'b00;
    assign s_axil_arready = !s_axil_rvalid;
    wire write = aw_full && w_full && !s_axil_bvalid;
    // CTRL's clear and reset strobes one cycle after their write: the address decode ends in a register, not in
    // the enables of the counters and of datapath_rst's thousands of loads (the tiny vit's whole top, 151.7 MHz:
    // the AXI-Lite handshake through the decode into datapath_rst)
    wire ctrl_write = !rst && write && awaddr[7:2] == 6'h00;
    reg clear, soft_reset;
    always @(posedge clk) begin
        clear <= ctrl_write && wdata[1];
        soft_reset <= ctrl_write && wdata[2];
    end

    always @(posedge clk) begin
        if (rst) begin
            aw_full <= 1'b0;
            w_full <= 1'b0;
            s_axil_bvalid <= 1'b0;
            s_axil_rvalid <= 1'b0;
            run_bit <= 1'b0;
            batch <= 16'd1;
        end else begin
            if (s_axil_awvalid && !aw_full) begin
                awaddr <= s_axil_awaddr;
                aw_full <= 1'b1;
            end
            if (s_axil_wvalid && !w_full) begin
                wdata <= s_axil_wdata;
                w_full <= 1'b1;
            end
            if (write) begin
                aw_full <= 1'b0;
                w_full <= 1'b0;
                s_axil_bvalid <= 1'b1;
                if (awaddr[7:2] == 6'h00) run_bit <= wdata[0];
                if (awaddr[7:2] == 6'h0b) batch <= wdata[15:0];
            end
            if (s_axil_bvalid && s_axil_bready) s_axil_bvalid <= 1'b0;
            if (s_axil_arvalid && !s_axil_rvalid) begin
                s_axil_rvalid <= 1'b1;
                case (s_axil_araddr[7:2])
                    6'h00: s_axil_rdata <= {31'b0, run_bit};
                    6'h01: s_axil_rdata <= {30'b0, done, idle};
                    6'h02: s_axil_rdata <= {31'b0, err_frame};
                    6'h03: s_axil_rdata <= frames_in;
                    6'h04: s_axil_rdata <= frames_out;
                    6'h05: s_axil_rdata <= frames_dropped;
                    6'h06: s_axil_rdata <= cycles;
                    6'h07: s_axil_rdata <= busy_cycles;
                    6'h08: s_axil_rdata <= latency;
                    6'h09: s_axil_rdata <= IMAGE_BYTES;
                    6'h0a: s_axil_rdata <= RESULT_WORDS;
                    6'h0b: s_axil_rdata <= {16'b0, batch};
                    6'h0c: s_axil_rdata <= MODEL_ID;
                    default: s_axil_rdata <= 32'b0;
                endcase
            end
            if (s_axil_rvalid && s_axil_rready) s_axil_rvalid <= 1'b0;
        end
    end

    always @(posedge clk) datapath_rst <= rst || soft_reset;

    // counters and flags
    always @(posedge clk) begin
        if (datapath_rst) begin
            flags <= {FLAG_DEPTH{1'b0}};
            in_flight <= 0;
            mid_frame <= 1'b0;
            timing <= 1'b0;
            flag_wr <= {FB{1'b0}};
            flag_rd <= {FB{1'b0}};
        end else begin
            if (frame_ok_q) begin
                flags[flag_wr] <= frame_batch_end_q;
                flag_wr <= flag_wr + 1'b1;
            end
            if (result_done_q) flag_rd <= flag_rd + 1'b1;
            in_flight <= in_flight + frame_ok_q - result_done_q;
            if (frame_begin_q) mid_frame <= 1'b1;
            if (frame_ok_q || frame_error_q) mid_frame <= 1'b0;
            if (frame_begin_q && idle && !timing) begin
                timing <= 1'b1;
                lat_start <= cycles;
            end
            if (frame_error_q && in_flight == 0) timing <= 1'b0;
            if (result_done_q && timing) begin
                timing <= 1'b0;
                latency <= cycles - lat_start;  // first pixel to last beat: both cycles counted one late
            end
        end
        if (rst || clear) begin
            frames_in <= 0;
            frames_out <= 0;
            frames_dropped <= 0;
            cycles <= 0;
            busy_cycles <= 0;
            latency <= 0;
            done <= 1'b0;
            err_frame <= 1'b0;
        end else begin
            cycles <= cycles + 1;
            if (!idle) busy_cycles <= busy_cycles + 1;
            if (frame_ok_q) frames_in <= frames_in + 1;
            if (result_done_q) frames_out <= frames_out + 1;
            if (frame_error_q) frames_dropped <= frames_dropped + 1;
            if (result_done_q) done <= 1'b1;
            else if (write && awaddr[7:2] == 6'h01 && wdata[1]) done <= 1'b0;
            if (frame_error_q) err_frame <= 1'b1;
            else if (write && awaddr[7:2] == 6'h02 && wdata[0]) err_frame <= 1'b0;
        end
    end
endmodule

`default_nettype wire

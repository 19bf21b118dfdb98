// pace_sink: an AXI-Stream sink that is always ready (rtl_tests/pace): counts the images that leave (TOKENS
// beats each) and the cycles at which the second and the latest of them ended.
`default_nettype none

module pace_sink #(
    parameter integer WIDTH = 8,   // tdata bits (not looked at)
    parameter integer TOKENS = 1   // beats per image
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    input  wire             s_axis_tlast,
    output reg  [31:0]      images,     // images that ended
    output reg  [31:0]      first_end,  // the cycle the second image ended
    output reg  [31:0]      last_end    // the cycle the latest image ended
);
    reg [31:0] cycle, beat;
    wire unused = &{1'b0, s_axis_tdata, s_axis_tlast};
    assign s_axis_tready = 1'b1;
    always @(posedge clk) begin
        if (rst) begin
            {cycle, beat, images, first_end, last_end} <= 0;
        end else begin
            cycle <= cycle + 1;
            if (s_axis_tvalid) begin
                beat <= beat == TOKENS - 1 ? 0 : beat + 1;
                if (beat == TOKENS - 1) begin
                    images <= images + 1;
                    if (images == 1) first_end <= cycle;
                    last_end <= cycle;
                end
            end
        end
    end
endmodule

`default_nettype wire

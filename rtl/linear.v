// linear kernel: one token vector in, one requantized token vector out (golden_kernels.linear).
// LANES multiply-accumulate lanes share each input element; a token takes N_OUT/LANES * N_IN cycles.
// Weights and biases come from ROM files that rtl/gen.py writes from the model file.
`default_nettype none

module linear #(
    parameter integer N_IN = 8,          // input features (> 0)
    parameter integer N_OUT = 8,         // output features, a multiple of LANES
    parameter integer LANES = 4,         // parallel MAC lanes (divides N_OUT)
    parameter integer IN_BITS = 8,       // input element width
    parameter integer IN_SIGNED = 1,     // 1: two's complement input, 0: unsigned (after ReLU)
    parameter integer W_BITS = 8,        // weight width (narrow-range signed)
    parameter integer ACC_BITS = 32,     // accumulator width (the model file proves no overflow)
    parameter integer OUT_BITS = 8,      // output element width
    parameter integer SHIFT = 0,         // in_frac + w_frac - out_frac: right shift with round half to even (>= 0)
    parameter integer OUT_MIN = -128,    // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter WEIGHT_FILE = "weight.hex", // N_OUT/LANES * N_IN words of LANES*W_BITS bits, lane 0 in the LSBs
    parameter BIAS_FILE = "bias.hex"      // N_OUT words of ACC_BITS bits
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [N_IN*IN_BITS-1:0]   s_axis_tdata,
    input  wire                      s_axis_tvalid,
    output wire                      s_axis_tready,
    input  wire                      s_axis_tlast,
    output reg  [N_OUT*OUT_BITS-1:0] m_axis_tdata,
    output reg                       m_axis_tvalid,
    input  wire                      m_axis_tready,
    output reg                       m_axis_tlast
);
    localparam integer GROUPS = N_OUT / LANES;
    localparam integer DEPTH = GROUPS * N_IN;

    reg [LANES*W_BITS-1:0] weight_rom [0:DEPTH-1];
    reg [ACC_BITS-1:0] bias_rom [0:N_OUT-1];
    initial begin
        $readmemh(WEIGHT_FILE, weight_rom);
        $readmemh(BIAS_FILE, bias_rom);
    end

    // state: idle (accepting a token), busy (accumulating), full (output waiting for the sink)
    reg busy;
    reg [N_IN*IN_BITS-1:0] x;
    reg last;
    reg [$clog2(GROUPS+1)-1:0] group;
    reg [$clog2(N_IN+1)-1:0] idx;
    reg [LANES*W_BITS-1:0] w_word;
    reg signed [ACC_BITS-1:0] acc [0:LANES-1];
    reg out_pending;

    assign s_axis_tready = !busy && !out_pending;

    // current input element, sign- or zero-extended
    wire [IN_BITS-1:0] x_raw = x[idx*IN_BITS +: IN_BITS];
    wire signed [IN_BITS:0] x_elem = IN_SIGNED ? {x_raw[IN_BITS-1], x_raw} : {1'b0, x_raw};

    // next accumulator values and their requantized outputs, per lane
    wire [LANES*ACC_BITS-1:0] acc_next;
    wire [LANES*OUT_BITS-1:0] lane_out;
    genvar g;
    generate
        for (g = 0; g < LANES; g = g + 1) begin : lane
            assign acc_next[g*ACC_BITS +: ACC_BITS] = acc[g] + x_elem * $signed(w_word[g*W_BITS +: W_BITS]);
            requant #(.IN_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX))
                rq (.x(acc_next[g*ACC_BITS +: ACC_BITS]), .y(lane_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate

    integer l;
    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            out_pending <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
            group <= 0;
            idx <= 0;
        end else begin
            if (m_axis_tvalid && m_axis_tready) begin
                m_axis_tvalid <= 1'b0;
                out_pending <= 1'b0;
            end
            if (s_axis_tvalid && s_axis_tready) begin
                x <= s_axis_tdata;
                last <= s_axis_tlast;
                busy <= 1'b1;
                group <= 0;
                idx <= 0;
                w_word <= weight_rom[0];
                for (l = 0; l < LANES; l = l + 1) acc[l] <= $signed(bias_rom[l]);
            end else if (busy) begin
                for (l = 0; l < LANES; l = l + 1)
                    acc[l] <= $signed(acc_next[l*ACC_BITS +: ACC_BITS]);
                if (idx == N_IN - 1) begin
                    // group done: requantize its LANES outputs, start the next group
                    for (l = 0; l < LANES; l = l + 1) begin
                        m_axis_tdata[(group*LANES + l)*OUT_BITS +: OUT_BITS] <= lane_out[l*OUT_BITS +: OUT_BITS];
                        if (group != GROUPS - 1) acc[l] <= $signed(bias_rom[(group + 1)*LANES + l]);
                    end
                    idx <= 0;
                    if (group == GROUPS - 1) begin
                        busy <= 1'b0;
                        out_pending <= 1'b1;
                        m_axis_tvalid <= 1'b1;
                        m_axis_tlast <= last;
                    end else begin
                        group <= group + 1;
                        w_word <= weight_rom[(group + 1) * N_IN];
                    end
                end else begin
                    idx <= idx + 1;
                    w_word <= weight_rom[group * N_IN + idx + 1];
                end
            end
        end
    end
endmodule

`default_nettype wire

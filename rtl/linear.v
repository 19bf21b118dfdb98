// linear kernel: one token vector in, one requantized token vector out (golden_kernels.linear).
// LANES multiply-accumulate lanes share each input element (two lanes per multiplier, see mul2); a token
// takes N_OUT/LANES * N_IN + 1 cycles, and the next token starts while the previous result waits for the
// sink. Weights and biases come from ROM files that rtl/gen.py writes from the model file; the weight ROM
// has one synchronous read port, so it can live in block RAM.
`default_nettype none

module linear #(
    parameter integer N_IN = 8,          // input features (> 0)
    parameter integer N_OUT = 8,         // output features, a multiple of LANES
    parameter integer LANES = 4,         // parallel MAC lanes (divides N_OUT)
    parameter integer IN_BITS = 8,       // input element width
    parameter integer IN_SIGNED = 1,     // 1: two's complement input, 0: unsigned (pixels)
    parameter integer W_BITS = 8,        // weight width (narrow-range signed)
    parameter integer ACC_BITS = 32,     // accumulator width (the model file proves no overflow)
    parameter integer OUT_BITS = 8,      // output element width
    parameter integer SHIFT = 0,         // in_frac + w_frac - out_frac: right shift with round half to even (>= 0)
    parameter integer OUT_MIN = -128,    // saturation bounds of the output format
    parameter integer OUT_MAX = 127,
    parameter WEIGHT_FILE = "weight.hex", // N_OUT/LANES * N_IN words of LANES*W_BITS bits, lane 0 in the LSBs
    parameter BIAS_FILE = "bias.hex"      // N_OUT/LANES words of LANES*ACC_BITS bits, lane 0 in the LSBs
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
    localparam integer X_BITS = IN_BITS + (IN_SIGNED ? 0 : 1);  // the input element as a signed number
    localparam integer PROD_BITS = X_BITS + W_BITS;

    (* rom_style = "block" *) reg [LANES*W_BITS-1:0] weight_rom [0:DEPTH-1];  // BRAM even when shallow
    reg [LANES*ACC_BITS-1:0] bias_rom [0:GROUPS-1];
    initial begin
        $readmemh(WEIGHT_FILE, weight_rom);
        $readmemh(BIAS_FILE, bias_rom);
    end

    // busy: accumulating a token; y_full: its result waits for the output register
    reg busy, y_full, last, y_last;
    reg fresh;                           // the accumulators start a group: read the bias instead
    reg [N_IN*IN_BITS-1:0] x;
    reg [N_OUT*OUT_BITS-1:0] y;
    reg [$clog2(GROUPS+1)-1:0] group;
    reg [$clog2(N_IN+1)-1:0] idx;
    reg [$clog2(DEPTH+1)-1:0] rd;        // next weight word to read
    reg [LANES*W_BITS-1:0] w_word;
    reg [LANES*ACC_BITS-1:0] acc;

    wire out_free = !m_axis_tvalid || m_axis_tready;
    assign s_axis_tready = !busy && (!y_full || out_free);
    wire take = s_axis_tvalid && s_axis_tready;
    wire group_done = busy && idx == N_IN - 1;

    // current input element, sign- or zero-extended
    wire [IN_BITS-1:0] x_raw = x[idx*IN_BITS +: IN_BITS];
    wire signed [X_BITS-1:0] x_elem = IN_SIGNED ? $signed(x_raw) : $signed({1'b0, x_raw});

    wire [LANES*ACC_BITS-1:0] bias_word = bias_rom[group];

    // products (two lanes per multiplier), next accumulators, requantized outputs
    wire [LANES*PROD_BITS-1:0] prod;
    wire [LANES*ACC_BITS-1:0] acc_next;
    wire [LANES*OUT_BITS-1:0] lane_out;
    genvar g;
    generate
        for (g = 0; g + 1 < LANES; g = g + 2) begin : pair
            mul2 #(.X_BITS(X_BITS), .C_BITS(W_BITS)) mul (.x(x_elem),
                .a(w_word[(g+1)*W_BITS +: W_BITS]), .b(w_word[g*W_BITS +: W_BITS]),
                .xa(prod[(g+1)*PROD_BITS +: PROD_BITS]), .xb(prod[g*PROD_BITS +: PROD_BITS]));
        end
        if (LANES % 2) begin : odd
            assign prod[(LANES-1)*PROD_BITS +: PROD_BITS] = x_elem * $signed(w_word[(LANES-1)*W_BITS +: W_BITS]);
        end
        for (g = 0; g < LANES; g = g + 1) begin : lane
            // the bias enters as the first addend (a mux inside the adder's LUTs, not after it)
            assign acc_next[g*ACC_BITS +: ACC_BITS] =
                $signed(fresh ? bias_word[g*ACC_BITS +: ACC_BITS] : acc[g*ACC_BITS +: ACC_BITS]) +
                $signed(prod[g*PROD_BITS +: PROD_BITS]);
            requant #(.IN_BITS(ACC_BITS), .OUT_BITS(OUT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX))
                rq (.x(acc_next[g*ACC_BITS +: ACC_BITS]), .y(lane_out[g*OUT_BITS +: OUT_BITS]));
        end
    endgenerate

    // one read port each: the weight word for the next cycle (synchronous)
    wire [$clog2(DEPTH+1)-1:0] w_addr = take ? 0 : rd;
    always @(posedge clk) begin
        if (take || busy) w_word <= weight_rom[w_addr];
    end

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            y_full <= 1'b0;
            m_axis_tvalid <= 1'b0;
            m_axis_tlast <= 1'b0;
        end else begin
            if (m_axis_tready) m_axis_tvalid <= 1'b0;
            if (y_full && out_free) begin  // result to the output register
                m_axis_tdata <= y;
                m_axis_tlast <= y_last;
                m_axis_tvalid <= 1'b1;
                y_full <= 1'b0;
            end
            if (take) begin
                x <= s_axis_tdata;
                last <= s_axis_tlast;
                busy <= 1'b1;
                group <= 0;
                idx <= 0;
                rd <= 1;
                fresh <= 1'b1;
            end else if (busy) begin
                acc <= acc_next;
                fresh <= group_done;
                rd <= rd + 1'b1;
                idx <= group_done ? 0 : idx + 1'b1;
                if (group_done) begin
                    // group done: keep its LANES outputs, start the next group from its biases
                    y[group*LANES*OUT_BITS +: LANES*OUT_BITS] <= lane_out;
                    group <= group + 1'b1;
                    if (group == GROUPS - 1) begin
                        busy <= 1'b0;
                        y_full <= 1'b1;
                        y_last <= last;
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire

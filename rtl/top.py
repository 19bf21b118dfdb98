"""Writes the whole-model top `vit_accel` (Verilog netlist) from a model file of any architecture (vit,
mobilevit, swin): one kernel instance per op of the golden model, named after it, joined by AXI-Stream wires
in the stream layout of rtl/layout.py; a tensor read by several ops goes through axis_broadcast, and the skip
operand of a residual connection or a concat through an axis_fifo deep enough to wait for its other branch
(attention, reorder and conv hold whole images). A kernel the plan gives copies (Plan.max_copies > 1: a cycle
budget below what one instance does) runs as that many instances, each input dealt to them an image at a time
(axis_deal) through an axis_fifo of an image each, the outputs gathered back in order (axis_gather). Pixels come
in on a 32-bit stream (patch_embed reads it directly; a model that starts with a conv reads it through
image_tokens), logits leave as 32-bit words with TLAST on the last, control/status on AXI-Lite
(rtl/accel_ctrl.v).
"""

from __future__ import annotations

from pathlib import Path

from ..quant import spec
from ..quant.golden import tensor_shapes
from ..quant.model_file import IntModel, Op
from . import gen, layout
from .gen import BUS_BITS, Plan, kernel_params, module_of, verilog_literal

# AXI-Lite register byte offsets of rtl/accel_ctrl.v (its header documents the bits); the testbench checks
# every one against the RTL
REGISTERS = {"CTRL": 0x00, "STATUS": 0x04, "ERRORS": 0x08, "FRAMES_IN": 0x0C, "FRAMES_OUT": 0x10,
             "FRAMES_DROPPED": 0x14, "CYCLES": 0x18, "BUSY_CYCLES": 0x1C, "LATENCY": 0x20, "IMAGE_BYTES": 0x24,
             "RESULT_WORDS": 0x28, "BATCH": 0x2C, "MODEL_ID": 0x30}
CTRL_BITS = {"RUN": 1, "CLEAR": 2, "RESET": 4}  # CTRL register bits

# ports of each kernel's inputs, in the order of op.inputs
INPUT_PORTS = {"residual_add": ["s_axis_a", "s_axis_b"], "concat": ["s_axis_a", "s_axis_b"],
               "attention": ["s_axis_q", "s_axis_k", "s_axis_v"]}
# inputs without TLAST: operands that follow their partner's framing, kernels that count their tokens
NO_TLAST = {("residual_add", "s_axis_b"), ("concat", "s_axis_b"), ("reorder", "s_axis")}
JOINS = ("residual_add", "concat")  # ops whose operands come from branches of unequal latency
# AXI-Lite slave ports of rtl/accel_ctrl.v, passed through the top as s_axil_<name>: (direction, bits, name)
AXIL_PORTS = (("input", 8, "awaddr"), ("input", 1, "awvalid"), ("output", 1, "awready"),
              ("input", 32, "wdata"), ("input", 4, "wstrb"), ("input", 1, "wvalid"), ("output", 1, "wready"),
              ("output", 2, "bresp"), ("output", 1, "bvalid"), ("input", 1, "bready"),
              ("input", 8, "araddr"), ("input", 1, "arvalid"), ("output", 1, "arready"),
              ("output", 32, "rdata"), ("output", 2, "rresp"), ("output", 1, "rvalid"), ("input", 1, "rready"))


def _params(p: dict) -> str:
    return ", ".join(f".{k}({verilog_literal(v)})" for k, v in p.items())


# (System)Verilog keywords (IEEE 1800-2017 Annex B): a layer named like one (e.g. mobilevit's `local`, `final`)
# gets a trailing underscore in the netlist
KEYWORDS = frozenset("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before begin bind
bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos config
const constraint context continue cover covergroup coverpoint cross deassign default defparam design disable
dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable endtask
enum event eventually expect export extends extern final first_match for force foreach forever fork forkjoin
function generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import
incdir include initial inout input inside instance int integer interconnect interface intersect join join_any
join_none large let liblist library local localparam logic longint macromodule matches medium modport module
nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed
parameter pmos posedge primitive priority program property protected pull0 pull1 pulldown pullup
pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg
reject_on release repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime
s_until s_until_with scalared sequence shortint shortreal showcancelled signed small soft solve specify
specparam static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior
trireg type typedef union unique unique0 unsigned until until_with untyped use uwire var vectored virtual void
wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor""".split())


def _wire(name: str) -> str:
    """A tensor's or layer's name in the netlist."""
    w = name.replace(".", "_")
    return w + "_" if w in KEYWORDS else w


def _bus(port: str, wire: str, tlast: bool = True) -> str:
    s = f".{port}_tdata({wire}_tdata), .{port}_tvalid({wire}_tvalid), .{port}_tready({wire}_tready)"
    return s + (f", .{port}_tlast({wire}_tlast)" if tlast else "")


def macs_per_image(m: IntModel) -> int:
    """Multiply-accumulates of one image: projections and convolutions (per token / output pixel) and the
    attention core (QK^T and PV)."""
    shapes, total = tensor_shapes(m), 0
    for op in m.ops:
        out = shapes[op.name]
        tokens = layout.tokens(m, op.name, out)  # output tokens (pixels of a conv) per image
        if op.op in ("linear", "patch_embed", "conv"):  # every weight once per output token
            total += tokens * m.array(op, "weight").size
        elif op.op == "attention":
            total += 2 * tokens * out[-2] * out[-1]  # per query: N keys x D (all heads), twice
    return total


def write_top(m: IntModel, out_dir: Path, plan: Plan | None = None) -> tuple[Path, dict]:
    """Write vit_accel.v and its ROM files into out_dir; returns the file and its instances (name -> module,
    parameters, layer)."""
    plan = gen.top_plan(m, plan)
    out_dir = Path(out_dir)
    rom_dir = out_dir / "rom"
    shapes, fmts = tensor_shapes(m), m.formats()
    width = {t: layout.elements(m, t, shapes[t]) * fmts[t].bits for t in shapes if t != m.input_name}
    consumers: dict[str, list[tuple[Op, int]]] = {}
    for op in m.ops:
        for i, t in enumerate(op.inputs):
            consumers.setdefault(t, []).append((op, i))
    last = m.ops[-1]
    if last.out.bits != BUS_BITS or len(shapes[last.name]) != 1:
        raise ValueError(f"{last.name}: the result must be one vector of {BUS_BITS}-bit words")

    params = {op.name: kernel_params(m, op, plan, rom_dir) for op in m.ops}
    copies = {op.name: gen.kernel_copies(m, op, params[op.name], plan) for op in m.ops}
    most_copies = max(copies.values())
    decl, body = [], []
    instances: dict[str, dict] = {}  # name -> module, parameters (and layer, lanes where they apply)
    unused_tlast: list[str] = []  # TLASTs of operands that follow their partner's framing

    def instance(module: str, name: str, params: dict, ports: str, reset: str = "datapath_rst", **info):
        body.append(f"    {module} #({_params(params)}) {name} (.clk(clk), .rst({reset}), {ports});")
        instances[name] = {"module": module, **info, "params": params}

    def stream(name: str, bits: int) -> None:
        """Declares the wires of an AXI-Stream `name`: tdata of `bits`, tvalid, tready, tlast."""
        decl.append(f"    wire [{bits - 1}:0] {name}_tdata;\n    wire {name}_tvalid, {name}_tready, {name}_tlast;")
    for t, w in width.items():
        stream(_wire(t), w)
    # the wire each (op, input) reads: the tensor itself, or its branch of a broadcast
    source: dict[tuple[str, int], str] = {}
    for t, uses in consumers.items():
        if t == m.input_name:
            continue
        if len(uses) == 1:
            source[(uses[0][0].name, uses[0][1])] = _wire(t)
            continue
        bc = f"{_wire(t)}_bc"
        decl.append(f"    wire [{width[t] - 1}:0] {bc}_tdata;\n    wire {bc}_tlast;\n"
                    f"    wire [{len(uses) - 1}:0] {bc}_tvalid, {bc}_tready;")
        instance("axis_broadcast", bc, {"WIDTH": width[t], "OUTPUTS": len(uses)},
                 f"{_bus('s_axis', _wire(t))}, .m_axis_tdata({bc}_tdata), .m_axis_tvalid({bc}_tvalid), "
                 f".m_axis_tready({bc}_tready), .m_axis_tlast({bc}_tlast)")
        for k, (op, i) in enumerate(uses):
            br = f"{_wire(t)}_to_{_wire(op.name)}_{i}"
            stream(br, width[t])
            if op.op in JOINS:  # skip path: wait here while the other branch works (its copies hold an
                # image each)
                depth = 1 << (4 * most_copies * layout.tokens(m, t, shapes[t]) - 1).bit_length()
                instance("axis_fifo", f"{br}_fifo", {"WIDTH": width[t], "DEPTH": depth},
                         f".s_axis_tdata({bc}_tdata), .s_axis_tvalid({bc}_tvalid[{k}]), "
                         f".s_axis_tready({bc}_tready[{k}]), .s_axis_tlast({bc}_tlast), {_bus('m_axis', br)}")
            else:
                body.append(f"    assign {br}_tdata = {bc}_tdata;\n    assign {br}_tlast = {bc}_tlast;\n"
                            f"    assign {br}_tvalid = {bc}_tvalid[{k}];\n    assign {bc}_tready[{k}] = {br}_tready;")
            source[(op.name, i)] = br

    readers = consumers.get(m.input_name, [])
    if len(readers) != 1:
        raise ValueError(f"the image must be read by exactly one op, not {len(readers)}")
    c, h, w = m.input_shape
    # the pixel input, behind axis_batch: a DMA transfer of BATCH images -> one frame per image
    stream("pixels", BUS_BITS)
    frame_pins = ".frame_begin(frame_begin), .frame_ok(frame_ok), .frame_error(frame_error)"
    instance("axis_batch", "batch_frames", {"WIDTH": BUS_BITS, "IMAGE_BEATS": c * h * w * spec.PIXEL.bits // BUS_BITS},
             f".batch(batch), {_bus('s_axis', 's_axis')}, {_bus('m_axis', 'pixels')}")
    if readers[0][0].op != "patch_embed":  # pixel tokens for a first layer that reads tokens (a conv)
        ip = gen.image_tokens_params(m)
        stream("image_tokens", c * spec.PIXEL.bits)
        instance("image_tokens", "image_tokens", ip, f".enable(run), {_bus('s_axis', 'pixels')}, "
                 f"{_bus('m_axis', 'image_tokens')}, {frame_pins}")
        source[(readers[0][0].name, readers[0][1])] = "image_tokens"

    def image_depth(tokens: int) -> int:
        """FIFO entries for an image of `tokens` beats: a power of two, at least 2."""
        return max(2, 1 << (tokens - 1).bit_length())

    def copied(op: Op, module: str, p: dict, ports: list[str], info: dict) -> None:
        """The op's kernel as copies[op] instances: each input dealt to them an image at a time (axis_deal) into
        a FIFO of an image per copy (the deal moves on while a copy takes its image at its own pace), the outputs
        gathered in the order dealt (axis_gather: an image of buffer per copy, so that a copy works on while an
        earlier copy's image is still being taken, and whole images on, so that the next kernel's copies are not
        held by a copy's pace)."""
        k, inst = copies[op.name], _wire(op.name)
        dealt = []  # per input: deal instance, port, TLAST used, bits, tokens per image
        for i, t in enumerate(op.inputs):
            deal = f"{inst}_deal{i}"
            bits = width[t] if t in width else c * fmts[t].bits  # the image's pixel tokens (image_tokens)
            tokens = layout.tokens(m, t, shapes[t])
            decl.append(f"    wire [{bits - 1}:0] {deal}_tdata;\n    wire {deal}_tlast;\n"
                        f"    wire [{k - 1}:0] {deal}_tvalid, {deal}_tready;")
            instance("axis_deal", deal, {"WIDTH": bits, "WAYS": k, "TOKENS": tokens},
                     f"{_bus('s_axis', source[(op.name, i)])}, .m_axis_tdata({deal}_tdata), "
                     f".m_axis_tvalid({deal}_tvalid), .m_axis_tready({deal}_tready), .m_axis_tlast({deal}_tlast)")
            dealt.append((deal, ports[i], (module, ports[i]) not in NO_TLAST, bits, tokens))
        bits, tokens = width[op.name], layout.tokens(m, op.name, shapes[op.name])
        ways, groups = gen.gather_levels(k)
        # first-level gather g joins copies g, g + groups, ... (one gather when groups = 1), the second the groups
        firsts = [f"{inst}_gather{g}" if groups > 1 else f"{inst}_gather" for g in range(groups)]

        def ways_in(name: str, n: int) -> None:
            """Declares the inputs of gather `name`: n ways' streams side by side."""
            decl.append(f"    wire [{n * bits - 1}:0] {name}_tdata;\n"
                        f"    wire [{n - 1}:0] {name}_tvalid, {name}_tready, {name}_tlast;")

        def way_out(name: str, w: int) -> str:
            """The output ports of a stream that is way w of gather `name`."""
            return (f".m_axis_tdata({name}_tdata[{w * bits} +: {bits}]), .m_axis_tvalid({name}_tvalid[{w}]), "
                    f".m_axis_tready({name}_tready[{w}]), .m_axis_tlast({name}_tlast[{w}])")
        for gather in firsts:
            ways_in(gather, ways)
        for j in range(k):
            copy, buses = f"{inst}_copy{j}", []
            for i, (deal, port, last, in_bits, in_tokens) in enumerate(dealt):
                stream(f"{copy}_in{i}", in_bits)
                instance("axis_fifo", f"{copy}_in{i}_fifo", {"WIDTH": in_bits, "DEPTH": image_depth(in_tokens)},
                         f".s_axis_tdata({deal}_tdata), .s_axis_tvalid({deal}_tvalid[{j}]), "
                         f".s_axis_tready({deal}_tready[{j}]), .s_axis_tlast({deal}_tlast), "
                         f"{_bus('m_axis', f'{copy}_in{i}')}")
                buses.append(_bus(port, f"{copy}_in{i}", last))
                if not last:
                    unused_tlast.append(f"{copy}_in{i}_tlast")
            outs = way_out(firsts[j % groups], j // groups)
            instance(module, copy, p, f"{', '.join(buses)}, {outs}", copies=k, **info)

        def join(name: str, n: int, out: str) -> None:
            instance("axis_gather", name, {"WIDTH": bits, "WAYS": n, "TOKENS": tokens, "DEPTH": image_depth(tokens)},
                     f".s_axis_tdata({name}_tdata), .s_axis_tvalid({name}_tvalid), .s_axis_tready({name}_tready), "
                     f".s_axis_tlast({name}_tlast), {out}")
        if groups == 1:
            join(firsts[0], ways, _bus("m_axis", inst))
            return
        second = f"{inst}_gather"
        ways_in(second, groups)
        for g, gather in enumerate(firsts):
            join(gather, ways, way_out(second, g))
        join(second, groups, _bus("m_axis", inst))

    for op in m.ops:
        p = params[op.name]
        module = module_of(m, op)
        inst = _wire(op.name)
        info = {"layer": op.name}
        if "LANES" in p:  # linear, patch_embed, conv: lanes x input elements per cycle
            info["mac_lanes"] = p["LANES"] * p.get("SIMD", 1)
        elif op.op == "attention":  # head-dim lanes for the scores and for the context
            info["mac_lanes"] = 2 * p["D"] // p["HEADS"]
        if op.op == "patch_embed":
            instance("patch_embed", inst, p, f".enable(run), {_bus('s_axis', 'pixels')}, {_bus('m_axis', inst)}, "
                     f"{frame_pins}", **info)
            continue
        ports = INPUT_PORTS.get(module, ["s_axis"])
        buses = [_bus(ports[i], source[(op.name, i)], (module, ports[i]) not in NO_TLAST)
                 for i in range(len(op.inputs))]
        unused_tlast += [f"{source[(op.name, i)]}_tlast" for i in range(len(op.inputs))
                         if (module, ports[i]) in NO_TLAST]
        if op.op == "residual_add" and len(op.inputs) == 1:  # constant operand from a ROM
            cp = gen.const_stream_params(m, op, rom_dir)
            stream(f"{inst}_const", cp["WIDTH"])
            instance("const_stream", f"{inst}_const", cp, _bus("m_axis", inst + "_const"), layer=op.name)
            buses.append(_bus("s_axis_b", f"{inst}_const", tlast=False))
            unused_tlast.append(f"{inst}_const_tlast")
        if copies[op.name] == 1:
            instance(module, inst, p, f"{', '.join(buses)}, {_bus('m_axis', inst)}", **info)
        else:
            copied(op, module, p, ports, info)
    if unused_tlast:  # Verilator's lint leaves names with "unused" alone: the one place these are read
        body.append(f"    wire unused_tlast = &{{1'b0, {', '.join(unused_tlast)}}};")
    n_words = shapes[last.name][0]
    # a result beat ends its image at `image_last`, and the output transfer when that image ended its batch
    instance("axis_unpack", "result", {"WORD": BUS_BITS, "WORDS": n_words},
             f"{_bus('s_axis', _wire(last.name))}, .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), "
             ".m_axis_tready(m_axis_tready), .m_axis_tlast(image_last)")
    body.append("    assign m_axis_tlast = image_last && result_last;")
    instance("accel_ctrl", "ctrl", {"IMAGE_BYTES": c * h * w, "RESULT_WORDS": n_words,
                                    "MODEL_ID": f"32'h{m.identity():08x}"},
             ", ".join(f".s_axil_{name}(s_axil_{name})" for _, _, name in AXIL_PORTS) +
             ", .run(run), .datapath_rst(datapath_rst), .batch(batch), .frame_begin(frame_begin), "
             ".frame_ok(frame_ok), .frame_batch_end(s_axis_tlast), .frame_error(frame_error), "
             ".result_last(result_last), .result_done(m_axis_tvalid && m_axis_tready && image_last)", reset="rst")

    axil_ports = ",\n".join(f"    {d:<6} wire {f'[{b - 1}:0]' if b > 1 else '':<6} s_axil_{name}"
                             for d, b, name in AXIL_PORTS)
    text = f"""// vit_accel: the whole {m.arch} model of the model file as one streaming accelerator.
// GENERATED by vitflow.rtl.top from the model file; do not edit.
`default_nettype none

module vit_accel (
    input  wire        clk,
    input  wire        rst,
    input  wire [{BUS_BITS - 1}:0] s_axis_tdata,   // pixels, {BUS_BITS // spec.PIXEL.bits} per beat, C-order
    input  wire        s_axis_tvalid,
    output wire        s_axis_tready,
    input  wire        s_axis_tlast,    // on the last beat of a batch of BATCH images (default 1)
    output wire [{BUS_BITS - 1}:0] m_axis_tdata,   // logits, one int32 per beat
    output wire        m_axis_tvalid,
    input  wire        m_axis_tready,
    output wire        m_axis_tlast,    // on the last logit of a batch's last image (BATCH register)
{axil_ports}
);
    wire run, datapath_rst, frame_begin, frame_ok, frame_error, image_last, result_last;
    wire [15:0] batch;
{chr(10).join(decl)}

{chr(10).join(body)}
endmodule

`default_nettype wire
"""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "vit_accel.v"
    path.write_text(text)
    return path, instances

"""The passes that build the accelerator's netlist (rtl/netlist.py) from a model file, each one job:

kernels            an instance per op of the golden model (parameters from the plan: lanes, SIMD), the pixel
                   input, the constant operands, the result and the control block, joined by tensor streams
insert_broadcasts  an axis_broadcast where a tensor has several readers, a branch stream to each
insert_skip_fifos  an axis_fifo on the skip branch of a join (residual_add, concat), deep enough to wait for
                   its other branch
insert_copies      a kernel the plan gives copies as that many instances, each input dealt to them an image at
                   a time (axis_deal, a FIFO of an image per copy), the outputs gathered in order (axis_gather)
insert_register_slices  an axis_register where a kernel passes ready or valid through combinationally (or
                   on every stream, Plan.register_slices): no combinational path through several kernels

Each takes and returns the Netlist (rewritten in place); rtl/top.py runs them in this order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..quant import spec
from ..quant.golden import tensor_shapes
from ..quant.model_file import IntModel, Op
from ..quant.ops import OPS
from . import gen, layout
from .gen import kernel_params, module_of
from .netlist import REGISTERED_READY, THROUGH, UNREGISTERED_OUTPUT, End, Instance, Netlist
from .plan import BUS_BITS, Plan, gather_levels
from .registers import AXIL_PORTS

# ports of each kernel's inputs, in the order of op.inputs (the table of ops' rtl_inputs; else one s_axis)
INPUT_PORTS = {d.rtl: list(d.rtl_inputs) for d in OPS.values() if d.rtl_inputs != ("s_axis",)}
JOINS = tuple(d.rtl for d in OPS.values() if d.join)  # kernels whose operands come from branches of unequal latency
FRAME_PINS = ".frame_begin(frame_begin), .frame_ok(frame_ok), .frame_error(frame_error)"
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


def wire(name: str) -> str:
    """A tensor's or layer's name in the netlist."""
    w = name.replace(".", "_")
    return w + "_" if w in KEYWORDS else w


@dataclass
class Top(Netlist):
    """The netlist of one model's top, with what the passes read: the model, its plan, its tensors' shapes (one
    golden run), and each op's planned copies."""

    model: IntModel | None = None
    plan: Plan = field(default_factory=Plan)
    shapes: dict = field(default_factory=dict)
    copies: dict[str, int] = field(default_factory=dict)  # kernel instance -> copies of it the plan asks for


def image_depth(tokens: int) -> int:
    """FIFO entries for an image of `tokens` beats: a power of two, at least 2."""
    return max(2, 1 << (tokens - 1).bit_length())


def _mac_lanes(op: Op, p: dict) -> dict:
    """What the report reads of an engine: multiplies per cycle (lanes x SIMD; attention: the head-dim lanes of
    the scores and of the context)."""
    if "LANES" in p:
        return {"mac_lanes": p["LANES"] * p.get("SIMD", 1)}
    return {"mac_lanes": 2 * p["D"] // p["HEADS"]} if op.op == "attention" else {}


def _pixel_input(net: Top) -> dict[tuple[str, int], str]:
    """axis_batch on the top's pixel port (a DMA transfer of BATCH images -> a frame per image), and pixel tokens
    (image_tokens) for a first op that reads tokens; returns the stream the image's reader takes."""
    m = net.model
    readers = [(op, i) for op in m.ops for i, t in enumerate(op.inputs) if t == m.input_name]
    if len(readers) != 1:
        raise ValueError(f"the image must be read by exactly one op, not {len(readers)}")
    c, h, w = m.input_shape
    beats = c * h * w * spec.PIXEL.bits // BUS_BITS
    net.stream("s_axis", BUS_BITS, beats)
    net.stream("pixels", BUS_BITS, beats)
    net.add(Instance("batch_frames", "axis_batch", {"WIDTH": BUS_BITS, "IMAGE_BEATS": beats},
                     {"s_axis": "s_axis", "m_axis": "pixels"}, ".batch(batch), .m_axis_batch_end(batch_end)"))
    op, i = readers[0]
    if op.op == "patch_embed":  # reads the pixel bus itself
        return {(op.name, i): "pixels"}
    net.stream("image_tokens", c * spec.PIXEL.bits, h * w)
    net.add(Instance("image_tokens", "image_tokens", gen.image_tokens_params(m),
                     {"s_axis": "pixels", "m_axis": "image_tokens"}, f".enable(run), {FRAME_PINS}"))
    return {(op.name, i): "image_tokens"}


def _kernel(net: Top, op: Op, p: dict, source: dict, rom_dir: Path) -> None:
    """The op's kernel instance (and a constant operand's ROM stream), reading its tensors' streams."""
    m, module, name = net.model, module_of(net.model, op), wire(op.name)
    names = INPUT_PORTS.get(module, ["s_axis"])
    ports = {names[i]: source.get((op.name, i), wire(t)) for i, t in enumerate(op.inputs)}
    if op.op == "residual_add" and len(op.inputs) == 1:  # constant operand (position embedding) from a ROM
        cp = gen.const_stream_params(m, op, rom_dir)
        const = net.stream(f"{name}_const", cp["WIDTH"], cp["TOKENS"])
        net.add(Instance(const, "const_stream", cp, {"m_axis": const}, info={"layer": op.name}))
        ports["s_axis_b"] = const
    pins = f".enable(run), {FRAME_PINS}" if op.op == "patch_embed" else ""
    net.add(Instance(name, module, p, {**ports, "m_axis": name}, pins, info={"layer": op.name, **_mac_lanes(op, p)}))


def _result(net: Top) -> None:
    """axis_unpack (the logits as BUS_BITS words; TLAST where an image ends) and the control block."""
    m = net.model
    last = m.ops[-1]
    if last.out.bits != BUS_BITS or len(net.shapes[last.name]) != 1 or net.shapes[last.name][0] < 2:
        # two words at least: accel_ctrl counts a result's end one cycle late (its result_done_q)
        raise ValueError(f"{last.name}: the result must be one vector of two or more {BUS_BITS}-bit words")
    words = net.shapes[last.name][0]
    net.add(Instance("result", "axis_unpack", {"WORD": BUS_BITS, "WORDS": words}, {"s_axis": wire(last.name)},
                     ".m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), "
                     ".m_axis_tlast(image_last)"))
    c, h, w = m.input_shape
    net.add(Instance("ctrl", "accel_ctrl", {"IMAGE_BYTES": c * h * w, "RESULT_WORDS": words,
                                            "MODEL_ID": f"32'h{m.identity():08x}"}, {},
                     ", ".join(f".s_axil_{name}(s_axil_{name})" for _, _, name in AXIL_PORTS) +
                     ", .run(run), .datapath_rst(datapath_rst), .batch(batch), .frame_begin(frame_begin), "
                     ".frame_ok(frame_ok), .frame_batch_end(batch_end), .frame_error(frame_error), "
                     ".result_last(result_last), .result_done(m_axis_tvalid && m_axis_tready && image_last)",
                     reset="rst"))


def kernels(m: IntModel, plan: Plan, rom_dir: Path) -> Top:
    """The netlist of `m` before any rewriting: an instance per op, the parameters its kernel takes under
    `plan` (lanes and SIMD folded in), its copies planned; a stream per tensor, read where the op reads it."""
    net = Top(model=m, plan=plan, shapes=tensor_shapes(m))
    fmts = m.formats()
    for t, shape in net.shapes.items():
        if t != m.input_name:
            net.stream(wire(t), layout.elements(m, t, shape) * fmts[t].bits, layout.tokens(m, t, shape))
    source = _pixel_input(net)
    for op in m.ops:
        p = kernel_params(m, op, plan, rom_dir)
        net.copies[wire(op.name)] = gen.kernel_copies(m, op, p, plan)
        _kernel(net, op, p, source, rom_dir)
    _result(net)
    return net


def insert_broadcasts(net: Top) -> Top:
    """A stream read by several ports goes through an axis_broadcast (`<tensor>_bc`) placed after its driver, a
    branch stream `<tensor>_to_<reader>_<input>` to each reader."""
    for s in list(net.streams.values()):
        readers = net.readers(s.name)
        if len(readers) < 2:
            continue
        branches = []
        for end in readers:
            index = INPUT_PORTS.get(end.inst.module, ["s_axis"]).index(end.port)
            branches.append(net.stream(f"{s.name}_to_{end.inst.name}_{index}", s.bits, s.tokens))
            net.connect(end, branches[-1])
        driver = net.driver(s.name)
        net.add(Instance(f"{s.name}_bc", "axis_broadcast", {"WIDTH": s.bits, "OUTPUTS": len(branches)},
                         {"s_axis": s.name, "m_axis": branches}), after=driver.inst.name if driver else None)
    return net


def insert_skip_fifos(net: Top) -> Top:
    """A broadcast branch into a join (residual_add, concat) waits in an axis_fifo while the other branch works:
    4 images' tokens deep per copy of the most copied kernel (each copy holds an image), a power of two."""
    most = max(net.copies.values(), default=1)
    for inst in list(net.instances.values()):
        if inst.module != "axis_broadcast":
            continue
        for way, branch in enumerate(inst.ports["m_axis"]):
            (reader,) = net.readers(branch)
            if reader.inst.module not in JOINS:
                continue
            s = net.streams[branch]
            skip = net.stream(f"{branch}_skip", s.bits, s.tokens)
            net.connect(End(inst, "m_axis", way), skip)
            depth = 1 << (4 * most * s.tokens - 1).bit_length()
            net.add(Instance(f"{branch}_fifo", "axis_fifo", {"WIDTH": s.bits, "DEPTH": depth},
                             {"s_axis": skip, "m_axis": branch}), after=inst.name)
    return net


def _deal(net: Top, inst: Instance, port: str, i: int, k: int) -> list[str]:
    """Input `port` (the op's input i) of `inst` dealt to k copies an image at a time (`<op>_deal<i>`), into a
    FIFO of an image per copy; returns the copies' input streams."""
    src = net.streams[inst.ports[port]]
    deal, dealt, inputs = f"{inst.name}_deal{i}", [], []
    for j in range(k):
        copy_in = f"{inst.name}_copy{j}_in{i}"
        dealt.append(net.stream(f"{copy_in}_dealt", src.bits, src.tokens))
        inputs.append(net.stream(copy_in, src.bits, src.tokens))
        net.add(Instance(f"{copy_in}_fifo", "axis_fifo", {"WIDTH": src.bits, "DEPTH": image_depth(src.tokens)},
                         {"s_axis": dealt[-1], "m_axis": copy_in}))
    net.add(Instance(deal, "axis_deal", {"WIDTH": src.bits, "WAYS": k, "TOKENS": src.tokens},
                     {"s_axis": src.name, "m_axis": dealt}))
    return inputs


def _gathers(net: Top, inst: Instance, k: int) -> list[str]:
    """The axis_gathers that join k copies' outputs back into `inst`'s output stream in the order dealt: one, or
    gather_levels' two levels (first-level gather g takes copies g, g + groups, ...); returns the copies' output
    streams."""
    out = net.streams[inst.ports["m_axis"]]
    ways, groups = gather_levels(k)
    outs = [net.stream(f"{inst.name}_copy{j}_out", out.bits, out.tokens) for j in range(k)]

    def gather(name: str, inputs: list[str], to: str) -> None:
        net.add(Instance(name, "axis_gather", {"WIDTH": out.bits, "WAYS": len(inputs), "TOKENS": out.tokens,
                                               "DEPTH": image_depth(out.tokens)}, {"s_axis": inputs, "m_axis": to}))
    if groups == 1:
        gather(f"{inst.name}_gather", outs, out.name)
        return outs
    seconds = [net.stream(f"{inst.name}_gather{g}_out", out.bits, out.tokens) for g in range(groups)]
    for g in range(groups):
        gather(f"{inst.name}_gather{g}", outs[g::groups], seconds[g])
    gather(f"{inst.name}_gather", seconds, out.name)
    return outs


def insert_copies(net: Top) -> Top:
    """Each kernel the plan gives k > 1 copies becomes `<op>_copy0` ... `<op>_copy<k-1>` between deals and
    gathers (the copies' info says how many)."""
    for inst in list(net.instances.values()):
        k = net.copies.get(inst.name, 1)
        if k == 1:
            continue
        net.remove(inst.name)
        inputs = {port: _deal(net, inst, port, i, k) for i, port in enumerate(p for p in inst.ports if p != "m_axis")}
        outs = _gathers(net, inst, k)
        for j in range(k):
            ports = {port: streams[j] for port, streams in inputs.items()}
            net.add(Instance(f"{inst.name}_copy{j}", inst.module, inst.params, {**ports, "m_axis": outs[j]},
                             inst.pins, info={**inst.info, "copies": k}))
    return net


def _needs_slice(net: Top, driver: End, reader: End) -> bool:
    """Whether the stream from `driver` to `reader` gets a register slice under the plan's register_slices."""
    policy = net.plan.register_slices
    if policy != "through":
        return policy == "all"
    d, r = driver.inst.module, reader.inst.module
    if d in THROUGH and r in THROUGH:
        return True
    if THROUGH.get(d) == "m_axis":  # its ready follows the reader's: a chain unless that is a flip-flop
        return r not in REGISTERED_READY
    if THROUGH.get(r) == "s_axis":  # ready from its readers and valid from its driver pass through it
        outs = [s for port, s in reader.inst.ports.items() if port.startswith("m_")]
        beyond = [e.inst.module for s in outs for x in (s if isinstance(s, list) else [s]) for e in net.readers(x)]
        return d in UNREGISTERED_OUTPUT or any(b not in REGISTERED_READY for b in beyond)
    return False


def insert_register_slices(net: Top) -> Top:
    """An axis_register (`<stream>_slice`: valid, data and ready all from flip-flops, one cycle of latency, a beat
    per cycle) on the streams Plan.register_slices names: "all", every stream between two instances; "none";
    "through" (the default), on the cutting side (netlist.THROUGH) of each kernel that passes ready or valid
    through combinationally, where the path would go on into the logic of the kernel beyond (whose ready is not
    a flip-flop, or whose valid and data are not), and between two such kernels: no combinational path runs
    through the logic of more than two instances. The slice's output is `<stream>_reg`."""
    for s in list(net.streams.values()):
        driver, readers = net.driver(s.name), net.readers(s.name)
        if driver is None or len(readers) != 1 or not _needs_slice(net, driver, readers[0]):
            continue
        out = net.stream(f"{s.name}_reg", s.bits, s.tokens)
        net.connect(readers[0], out)
        net.add(Instance(f"{s.name}_slice", "axis_register", {"WIDTH": s.bits}, {"s_axis": s.name, "m_axis": out}),
                after=driver.inst.name)
    return net


def annotate_cycles(net: Top) -> Top:
    """Each kernel instance's steady-state cycles per image by the cycle model (gen.kernel_cycles; a copy's
    share: its kernel's cycles over the copies) in its info["cycles_per_image"]: the top runs at the pace of
    the largest (the streams between kernels take a token per cycle)."""
    ops = {op.name: op for op in net.model.ops}
    for inst in net.instances.values():
        op = ops.get(inst.info.get("layer"))
        if op is not None and inst.module == module_of(net.model, op):  # the op's kernel, not its const_stream
            inst.info["cycles_per_image"] = gen.kernel_cycles(net.model, op, inst.params) / inst.info.get("copies", 1)
    return net


def top_cycles(instances: dict[str, dict]) -> float:
    """The cycle model's cycles per image of a whole top (write_top's instances, annotate_cycles run)."""
    return max(i["cycles_per_image"] for i in instances.values() if "cycles_per_image" in i)


# in order, after kernels()
PASSES = (insert_broadcasts, insert_skip_fifos, insert_copies, insert_register_slices, annotate_cycles)


def build(m: IntModel, plan: Plan, rom_dir: Path) -> Top:
    """The top's netlist under a resolved plan: kernels() (ROM files written into rom_dir), then PASSES."""
    net = kernels(m, plan, rom_dir)
    for rewrite in PASSES:
        net = rewrite(net)
    return net

"""The accelerator top as a graph: kernel instances joined by AXI-Stream streams. rtl/passes.py builds it from a
model file and rewrites it (broadcasts, skip FIFOs, copies, register slices); emit() writes it as Verilog.

A port's prefix says its direction (s_axis*: the instance reads the stream, m_axis*: it drives it), so a stream
needs no direction of its own: each has one driver port and one reader port once the broadcasts are in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .gen import verilog_literal

SHARED, PACKED = "shared", "packed"
# ports that carry several streams side by side, one per way: SHARED, one tdata and tlast for every way and a
# valid and ready each (a broadcast's or a deal's outputs); PACKED, every way its own tdata slice, valid,
# ready and tlast (a gather's inputs)
VECTOR_PORTS = {("axis_broadcast", "m_axis"): SHARED, ("axis_deal", "m_axis"): SHARED,
                ("axis_gather", "s_axis"): PACKED}
# inputs without TLAST: operands that follow their partner's framing, kernels that count their tokens
NO_TLAST = {("residual_add", "s_axis_b"), ("concat", "s_axis_b"), ("reorder", "s_axis")}
# modules with a combinational path from one stream port to another (rtl/*.v, the lines that assign them):
# "ready" from m_axis_tready to an input's tready, "valid" from an input's tvalid / tdata to m_axis_tvalid /
# tdata. Every other module drives its ports from flip-flops or from its own state only, so a combinational path
# that enters it ends in it. The side where a register slice cuts the path (passes.insert_register_slices):
# the one with fewer streams
THROUGH = {"residual_add": "m_axis",    # ready: a_valid && b_valid && (!m_valid || m_ready)
           "concat": "m_axis",          # ready: a_valid && b_valid && out_free
           "gelu": "m_axis",            # ready: !m_axis_tvalid || m_axis_tready
           "pool": "m_axis",            # ready: !full || !m_valid || m_ready
           "axis_broadcast": "s_axis",  # ready: &(taken | valid & ready); valid, data: wires from the input
           "axis_deal": "s_axis"}       # ready: the dealt way's ready; valid, data: wires from the input
# modules whose input ready is a flip-flop (linear.v's rdy; patch_embed / image_tokens: a register and the RUN bit):
# a ready path that reaches them from a THROUGH module ends there
REGISTERED_READY = frozenset({"linear", "patch_embed", "image_tokens", "axis_register"})
# modules whose output valid or data is logic (wires from the input, a ROM read, a word select), not flip-flops
UNREGISTERED_OUTPUT = frozenset({"axis_broadcast", "axis_deal", "const_stream"})
EXTERNAL = frozenset({"s_axis"})  # the top's own pixel port: a stream that is not declared inside


@dataclass
class Stream:
    """One AXI-Stream: tdata of `bits`, tvalid, tready, tlast; `tokens` beats per image."""

    name: str
    bits: int
    tokens: int = 1


@dataclass
class Instance:
    """One module instance: its AXI-Stream ports (prefix -> stream, or a list of streams on a vector port), other
    connections as Verilog (`pins`), and what the reports read (`info`: layer, mac_lanes, copies)."""

    name: str
    module: str
    params: dict
    ports: dict[str, str | list[str]]
    pins: str = ""
    reset: str = "datapath_rst"
    info: dict = field(default_factory=dict)

    def takes_tlast(self, port: str) -> bool:
        return (self.module, port) not in NO_TLAST


@dataclass(frozen=True)
class End:
    """Where a stream meets an instance: the instance, its port, and the way on a vector port (else None)."""

    inst: Instance
    port: str
    way: int | None = None

    @property
    def reads(self) -> bool:
        return self.port.startswith("s_")


@dataclass
class Netlist:
    """Streams and instances, in the order they are written."""

    streams: dict[str, Stream] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)

    def stream(self, name: str, bits: int, tokens: int = 1) -> str:
        if name in self.streams:
            raise ValueError(f"stream {name} declared twice")
        self.streams[name] = Stream(name, bits, tokens)
        return name

    def add(self, inst: Instance, after: str | None = None) -> Instance:
        """Adds `inst` at the end, or right after instance `after` (so that related instances stay together)."""
        if inst.name in self.instances:
            raise ValueError(f"instance {inst.name} added twice")
        if after is None:
            self.instances[inst.name] = inst
            return inst
        items = list(self.instances.items())
        at = next(i for i, (n, _) in enumerate(items) if n == after) + 1
        self.instances = dict(items[:at] + [(inst.name, inst)] + items[at:])
        return inst

    def remove(self, name: str) -> Instance:
        return self.instances.pop(name)

    def ends(self, stream: str) -> list[End]:
        """Every port (and way) that carries `stream`, drivers and readers."""
        found = []
        for inst in self.instances.values():
            for port, s in inst.ports.items():
                if isinstance(s, list):
                    found += [End(inst, port, w) for w, x in enumerate(s) if x == stream]
                elif s == stream:
                    found.append(End(inst, port))
        return found

    def readers(self, stream: str) -> list[End]:
        return [e for e in self.ends(stream) if e.reads]

    def driver(self, stream: str) -> End | None:
        return next((e for e in self.ends(stream) if not e.reads), None)

    def connect(self, end: End, stream: str) -> None:
        """Points the port (or way) of `end` at `stream`."""
        if end.way is None:
            end.inst.ports[end.port] = stream
        else:
            end.inst.ports[end.port][end.way] = stream

    def report(self) -> dict[str, dict]:
        """Instance name -> module, info (layer, mac_lanes, copies where they apply), parameters."""
        return {i.name: {"module": i.module, **i.info, "params": i.params} for i in self.instances.values()}


def parameter_list(p: dict) -> str:
    """A module instance's parameters as Verilog: .NAME(value), ..."""
    return ", ".join(f".{k}({verilog_literal(v)})" for k, v in p.items())


def _concat(streams: list[str], signal: str) -> str:
    """Way 0 in the least significant bits."""
    return "{" + ", ".join(f"{s}_{signal}" for s in reversed(streams)) + "}"


def _port(inst: Instance, port: str, s: str | list[str]) -> tuple[str, list[str]]:
    """The connections of one AXI-Stream port, and the assignments a SHARED vector port needs."""
    kind = VECTOR_PORTS.get((inst.module, port))
    if kind is None:
        conns = f".{port}_tdata({s}_tdata), .{port}_tvalid({s}_tvalid), .{port}_tready({s}_tready)"
        return conns + (f", .{port}_tlast({s}_tlast)" if inst.takes_tlast(port) else ""), []
    ways = f".{port}_tvalid({_concat(s, 'tvalid')}), .{port}_tready({_concat(s, 'tready')})"
    if kind == PACKED:
        return f".{port}_tdata({_concat(s, 'tdata')}), {ways}, .{port}_tlast({_concat(s, 'tlast')})", []
    shared = f"{inst.name}_{port}"  # one tdata and tlast, copied onto each way's stream
    return (f".{port}_tdata({shared}_tdata), {ways}, .{port}_tlast({shared}_tlast)",
            [f"    assign {x}_tdata = {shared}_tdata;\n    assign {x}_tlast = {shared}_tlast;" for x in s])


def emit_body(net: Netlist) -> tuple[list[str], list[str]]:
    """The declarations and the instances (with their assignments) of the netlist, as Verilog lines."""
    decl = [f"    wire [{s.bits - 1}:0] {s.name}_tdata;\n    wire {s.name}_tvalid, {s.name}_tready, {s.name}_tlast;"
            for s in net.streams.values() if s.name not in EXTERNAL]
    body, unused = [], []
    for inst in net.instances.values():
        conns = []
        for port, s in inst.ports.items():
            text, assigns = _port(inst, port, s)
            conns.append(text)
            body += assigns
            if assigns:
                bits = net.streams[s[0]].bits
                decl.append(f"    wire [{bits - 1}:0] {inst.name}_{port}_tdata;\n    wire {inst.name}_{port}_tlast;")
            if not inst.takes_tlast(port):
                unused.append(f"{s}_tlast")
        pins = ", ".join(c for c in (", ".join(conns), inst.pins) if c)
        body.append(f"    {inst.module} #({parameter_list(inst.params)}) {inst.name} "
                    f"(.clk(clk), .rst({inst.reset}), {pins});")
    if unused:  # Verilator's lint leaves names with "unused" alone: the one place these are read
        body.append(f"    wire unused_tlast = &{{1'b0, {', '.join(unused)}}};")
    return decl, body

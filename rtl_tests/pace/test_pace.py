"""The cycle model (rtl/gen.py kernel_cycles) against the simulation: every distinct kernel instance of a shipped
top (module and parameters; ROM contents do not change the timing) side by side in one wrapper, each fed by
sources that always have a beat and drained by sinks that are always ready; the steady-state cycles per image
each sink sees must be within TOLERANCE of the model's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from stream import CLOCK_NS

TOLERANCE = 0.03
IMAGES = 6  # image ends per sink: steady state from the second to the last


@cocotb.test()
async def pace(dut):
    cases = json.loads(Path(os.environ["PACE_CASES"]).read_text())
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    limit = int(max(c["model"] for c in cases) * (IMAGES + 4) * 2)
    for _ in range(0, limit, 500):
        await ClockCycles(dut.clk, 500)
        if all(int(getattr(dut, f"images{i}").value) >= IMAGES for i in range(len(cases))):
            break
    results, off = [], []
    for i, c in enumerate(cases):
        n = int(getattr(dut, f"images{i}").value)
        assert n >= 3, f"{c['instance']}: {n} images out after {limit} cycles"
        measured = (int(getattr(dut, f"last_end{i}").value) - int(getattr(dut, f"first_end{i}").value)) / (n - 2)
        results.append({**c, "measured": round(measured, 1), "error": round(c["model"] / measured - 1, 4)})
        if abs(c["model"] / measured - 1) > TOLERANCE:
            off.append(f"{c['instance']} ({c['module']}): model {c['model']}, simulated {measured:.1f}")
    out = os.environ.get("PACE_RESULTS")
    if out:
        Path(out).write_text(json.dumps(results, indent=1))
    assert not off, "cycle model off by more than 3%: " + "; ".join(off)


def wrapper(net, cases: list[dict]) -> str:
    """Verilog of every case's instance between pace_sources and a pace_sink, the sinks' counters as ports."""
    from vitflow.rtl.netlist import parameter_list

    ports, body = [], []
    for i, c in enumerate(cases):
        inst = net.instances[c["instance"]]
        conns = []
        for port, s in inst.ports.items():
            stream = net.streams[s]
            w = f"c{i}_{port}"
            body.append(f"    wire [{stream.bits - 1}:0] {w}_tdata;\n    wire {w}_tvalid, {w}_tready, {w}_tlast;")
            role = "pace_source" if port.startswith("s_") else "pace_sink"
            side = "m_axis" if role == "pace_source" else "s_axis"
            counters = (f", .images(images{i}), .first_end(first_end{i}), .last_end(last_end{i})"
                        if role == "pace_sink" else "")
            body.append(f"    {role} #(.WIDTH({stream.bits}), .TOKENS({stream.tokens})) {w}_end (.clk(clk), .rst(rst), "
                        f".{side}_tdata({w}_tdata), .{side}_tvalid({w}_tvalid), .{side}_tready({w}_tready), "
                        f".{side}_tlast({w}_tlast){counters});")
            conns.append(f".{port}_tdata({w}_tdata), .{port}_tvalid({w}_tvalid), .{port}_tready({w}_tready)"
                         + (f", .{port}_tlast({w}_tlast)" if inst.takes_tlast(port) else ""))
        if inst.pins:  # patch_embed, image_tokens: running, their frame flags not looked at
            conns.append(".enable(1'b1), .frame_begin(), .frame_ok(), .frame_error()")
        body.append(f"    {inst.module} #({parameter_list(inst.params)}) dut{i} "
                    f"(.clk(clk), .rst(rst), {', '.join(conns)});")
        ports.append(f"    output wire [31:0] images{i}, first_end{i}, last_end{i}")
    return ("`default_nettype none\nmodule pace_top (\n    input wire clk,\n    input wire rst,\n"
            + ",\n".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n`default_nettype wire\n")


def pace_cases(net) -> list[dict]:
    """The distinct kernel instances of a top and their model cycles per image (annotate_cycles' kernel_cycles)."""
    from vitflow.rtl.synth import _rom_file

    seen, cases = set(), []
    for inst in net.instances.values():
        if "cycles_per_image" not in inst.info:  # not a kernel (const_stream, plumbing)
            continue
        key = (inst.module, tuple(sorted((k, v) for k, v in inst.params.items() if not _rom_file(v))))
        if key in seen:
            continue
        seen.add(key)
        cases.append({"instance": inst.name, "module": inst.module,
                      "model": inst.info["cycles_per_image"]})
    return cases


@pytest.mark.parametrize("arch", ["vit", "mobilevit", "swin"])
def test_pace(arch):
    from sim import run, sim_build

    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel
    from vitflow.rtl.top import build_top

    if os.environ.get("VITFLOW_SIM", "verilator") != "verilator":
        pytest.skip("timing only: Verilator measures the same cycles")
    folder = sim_build("pace", arch)
    net = build_top(IntModel.load(ModelPaths.resolve(arch, None).model_file), folder / "top")
    cases = pace_cases(net)
    (folder / "cases.json").write_text(json.dumps(cases))
    top = folder / "pace_top.v"
    top.write_text(wrapper(net, cases))
    here = Path(__file__).parent
    run("pace_top", "test_pace", {}, {"PACE_CASES": str(folder / "cases.json"),
                                      "PACE_RESULTS": str(folder / "results.json")},
        generated=[top, here / "pace_source.v", here / "pace_sink.v"], test_dir=here)

